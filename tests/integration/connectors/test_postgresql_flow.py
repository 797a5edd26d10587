"""A PostgreSQL source through the real HTTP app: connection, test, explore, preview, and a
dataflow run that copies a table into a dataset."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from flow_journey import read_dataset, wait_for_run
from service_harness import (
    DATA_LAKE_SPEC_ID,
    FLOW_SPEC_ID,
    ApiClient,
    RunningServer,
    create_dataset,
    created_id,
    make_settings,
    new_org_id,
    start_server,
)

POSTGRES_ENV = "FLOWSERVICE_TEST_POSTGRES_URL"
POSTGRES_SPEC_ID = "74a1c565-4e59-48d7-9d67-7c03b8a13137"
SECRET = "flow;Secret'9"

SOURCE_SQL = """
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
  id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), placed timestamptz
);
INSERT INTO shop.orders VALUES
  (1, 'Ann', 10.50, '2024-03-01 12:00:00+00'),
  (2, 'Bob', 20.00, '2024-03-02 08:30:00+01'),
  (3, 'Cé', NULL, NULL);
"""


@pytest.fixture(scope="module")
def source_url() -> Iterator[str]:
    """A fresh source database, dropped afterwards."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.fail(f"{POSTGRES_ENV} is not set: start a server with .ci/start-postgres.sh")
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"flowservice_src_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SOURCE_SQL)  # type: ignore[arg-type]
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> Iterator[ApiClient]:
    """A write client of a new org on a server of its own (SQLite metadata, its scheduler)."""
    settings = make_settings(
        home, f"sqlite:///{home / 'flowservice.db'}", scheduler_interval_seconds=0.3
    )
    home.mkdir(parents=True, exist_ok=True)
    running: RunningServer = start_server(settings)
    api = ApiClient(running, org_id=new_org_id(), client_id="pg-client")
    yield api
    api.close()
    running.stop()


def connection_string(url: str) -> str:
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    password = SECRET.replace("'", "''")  # the test server trusts local logins: any password
    return (
        f"Server={parts.hostname};Database={database};Port={parts.port};UID={parts.username};"
        f"Password='{password}';EncryptionMethod=0"
    )


def _body(connection: str) -> dict[str, Any]:
    return {
        "name": "Base connection for postgre-sql",
        "auth": {
            "specName": "Connection String Based Authentication",
            "params": {"connectionString": connection},
        },
        "connectionSpec": {"id": POSTGRES_SPEC_ID, "version": "1.0"},
    }


def test_connection_explore_and_a_flow_into_a_dataset(
    client: ApiClient, home: Path, source_url: str
) -> None:
    spec = client.get(f"/connectionSpecs/{POSTGRES_SPEC_ID}").json()["items"][0]
    assert spec["name"] == "postgre-sql"
    assert spec["authSpec"][0]["spec"]["properties"]["connectionString"]["format"] == "password"

    made = client.post("/connections", json=_body(connection_string(source_url)))
    conn = created_id(made)
    shown = client.get(f"/connections/{conn}").json()["items"][0]
    assert SECRET not in str(shown) and "****" in shown["auth"]["params"]["connectionString"]
    assert client.get(f"/connections/{conn}/test").json() == {"result": True}

    url = f"/connections/{conn}/explore"
    root = client.get(url, params={"objectType": "root"}).json()
    assert "shop.orders" in [obj["path"] for obj in root]
    table = client.get(url, params={"objectType": "table", "object": "shop.orders"}).json()
    assert [c["name"] for c in table["schema"]["columns"]] == ["id", "customer", "amount", "placed"]
    preview = client.get(
        url, params={"objectType": "table", "object": "shop.orders", "preview": "true"}
    ).json()
    assert preview["data"][0]["customer"] == "Ann" and len(preview["data"]) == 3

    dataset_id = create_dataset(client, "orders copy")
    source = created_id(
        client.post(
            "/sourceConnections",
            json={
                "name": "source",
                "baseConnectionId": conn,
                "data": {"format": "tabular"},
                "params": {"tableName": "shop.orders"},
                "connectionSpec": {"id": POSTGRES_SPEC_ID, "version": "1.0"},
            },
        )
    )
    target = created_id(
        client.post(
            "/targetConnections",
            json={
                "name": "target",
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": dataset_id},
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            },
        )
    )
    later = int(datetime.now(UTC).timestamp()) + 86_400
    flow = created_id(
        client.post(
            "/flows",
            json={
                "name": "copy shop.orders",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [{"name": "Copy", "params": {}}],
                "scheduleParams": {"startTime": later, "frequency": "once"},
            },
        )
    )
    run_id = client.post("/runs", json={"flowId": flow}).json()["id"]
    run = wait_for_run(client, run_id)
    assert run["metrics"]["statusSummary"]["status"] == "success", run
    copied = read_dataset(client, home, dataset_id).sort_by("id")
    assert copied.column("id").to_pylist() == [1, 2, 3]
    assert copied.column("customer").to_pylist() == ["Ann", "Bob", "Cé"]
    assert copied.column("amount").to_pylist() == [Decimal("10.50"), Decimal("20.00"), None]
    placed = [None if v is None else v.astimezone(UTC) for v in copied.column("placed").to_pylist()]
    assert placed == [
        datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
        datetime(2024, 3, 2, 7, 30, tzinfo=UTC),
        None,
    ]
