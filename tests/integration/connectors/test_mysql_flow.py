"""Over HTTP with a real MariaDB: MySQL and MariaDB connections, explore, preview, and a flow.

Needs ``FLOWSERVICE_TEST_MARIADB_URL``; the module works in a database of its own. The
flow part runs when the flow spec lists the MySQL / MariaDB connection specs as sources.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from flow_journey import read_dataset, wait_for_first_run, wait_for_run
from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    RunningServer,
    create_dataset,
    created_id,
    make_settings,
    new_org_id,
    start_server,
    target_connection_body,
)

from flowservice.flows.flow_spec import flow_specs

pytestmark = pytest.mark.timeout(120)
MARIADB_ENV = "FLOWSERVICE_TEST_MARIADB_URL"
SPECS = {
    "mysql": "26d738e0-8963-47ea-aadf-c60de735468a",
    "maria-db": "3000eb99-cd47-43f3-827c-43caf170f015",
}
PASSWORD_MARK = "Pw;x'"


def admin(url: str, database: str | None = None) -> Any:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
        autocommit=True,
        charset="utf8mb4",
    )


@pytest.fixture(scope="module")
def mariadb() -> Iterator[dict[str, Any]]:
    url = os.environ.get(MARIADB_ENV)
    if not url:
        pytest.skip(f"{MARIADB_ENV} is not set (run .ci/start-mariadb.sh)")
    name = f"fs_flow_{uuid.uuid4().hex[:10]}"
    user = f"flow_{uuid.uuid4().hex[:8]}"
    with admin(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cursor.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (PASSWORD_MARK,))
        cursor.execute(f"GRANT SELECT ON `{name}`.* TO '{user}'@'%'")
        cursor.execute(f"USE `{name}`")
        cursor.execute(
            "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer VARCHAR(50), "
            "amount DECIMAL(10,2), updated_at DATETIME(6) NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO orders VALUES (1, 'Ann', 10.50, '2024-03-01 12:00:00'), "
            "(2, 'Bö😀', 20.00, '2024-03-01 12:30:00'), (3, NULL, NULL, '2024-03-02 08:15:00')"
        )
    parts = urlsplit(url)
    yield {
        "database": name,
        "connectionString": (
            f"Server={parts.hostname};Port={parts.port};Database={name};UID={user};"
            f"PWD='{PASSWORD_MARK.replace(chr(39), chr(39) * 2)}'"
        ),
    }
    with admin(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[ApiClient, Path]]:
    home = tmp_path / "home"
    settings = make_settings(
        home, f"sqlite:///{tmp_path / 'flowservice.db'}", scheduler_interval_seconds=0.3
    )
    running: RunningServer = start_server(settings)
    api = ApiClient(running, org_id=new_org_id(), client_id="mysql-client")
    yield api, home
    api.close()
    running.stop()


def connection_body(spec_name: str, connection_string: str) -> dict[str, Any]:
    return {
        "name": f"{spec_name} connection",
        "auth": {
            "specName": "Connection String Based Authentication",
            "params": {"connectionString": connection_string},
        },
        "connectionSpec": {"id": SPECS[spec_name], "version": "1.0"},
    }


@pytest.mark.parametrize("spec_name", sorted(SPECS))
def test_connection_explore_and_preview(
    client: tuple[ApiClient, Path], mariadb: dict[str, Any], spec_name: str
) -> None:
    api, _ = client
    spec = api.get(f"/connectionSpecs/{SPECS[spec_name]}")
    assert spec.status_code == 200, spec.text
    made = api.post("/connections", json=connection_body(spec_name, mariadb["connectionString"]))
    conn = created_id(made)
    shown = api.get(f"/connections/{conn}").text
    assert PASSWORD_MARK not in shown and "PWD=****" in shown
    assert api.get(f"/connections/{conn}/test").json() == {"result": True}
    table = f"{mariadb['database']}.orders"
    root = api.get(f"/connections/{conn}/explore", params={"objectType": "root"}).json()
    assert table in [obj["path"] for obj in root]
    described = api.get(
        f"/connections/{conn}/explore", params={"objectType": "table", "object": table}
    ).json()
    assert [c["name"] for c in described["schema"]["columns"]] == [
        "id",
        "customer",
        "amount",
        "updated_at",
    ]
    preview = api.get(
        f"/connections/{conn}/explore",
        params={"objectType": "table", "object": table, "preview": "true"},
    )
    assert preview.status_code == 200, preview.text
    assert "Bö😀" in preview.text

    wrong = mariadb["connectionString"].replace(PASSWORD_MARK.replace("'", "''"), "nope")
    bad = created_id(api.post("/connections", json=connection_body(spec_name, wrong)))
    answer = api.get(f"/connections/{bad}/test")
    assert answer.status_code >= 400 or answer.json() != {"result": True}
    assert "nope" not in answer.text and PASSWORD_MARK not in answer.text


def test_flow_copies_the_table(client: tuple[ApiClient, Path], mariadb: dict[str, Any]) -> None:
    if SPECS["mysql"] not in flow_specs().get(FLOW_SPEC_ID).source_connection_spec_ids:
        pytest.skip("the flow spec does not list the MySQL / MariaDB connection specs yet")
    api, home = client
    conn = created_id(
        api.post("/connections", json=connection_body("mysql", mariadb["connectionString"]))
    )
    table = f"{mariadb['database']}.orders"
    dataset_id = create_dataset(api, "orders copy")
    source = created_id(
        api.post(
            "/sourceConnections",
            json={
                "name": "source",
                "baseConnectionId": conn,
                "data": {"format": "tabular"},
                "params": {"tableName": table},
                "connectionSpec": {"id": SPECS["mysql"], "version": "1.0"},
            },
        )
    )
    target = created_id(
        api.post("/targetConnections", json=target_connection_body(name="t", dataset_id=dataset_id))
    )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=120)
    flow = created_id(
        api.post(
            "/flows",
            json={
                "name": "copy orders",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [
                    {
                        "name": "Copy",
                        "params": {"deltaColumn": {"name": "updated_at", "timezone": "UTC"}},
                    }
                ],
                "scheduleParams": {
                    "startTime": str(int(start.timestamp())),
                    "frequency": "minute",
                    "interval": "15",
                },
            },
        )
    )
    run = wait_for_run(api, wait_for_first_run(api, flow))
    assert run["metrics"]["statusSummary"]["status"] == "success", run
    copied = read_dataset(api, home, dataset_id).sort_by("id")
    assert copied.column("id").to_pylist() == [1, 2, 3]
    assert copied.column("customer").to_pylist() == ["Ann", "Bö😀", None]
    assert copied.column("amount").to_pylist() == [Decimal("10.50"), Decimal("20.00"), None]
