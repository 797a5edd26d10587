"""`POST /flows/{id}/verify` and `flowservice flows verify` over a real copy.

A full-snapshot flow copies an emulator table into its dataset through the real
server, scheduler, driver and lake; verify finds them equal. Then a dataset row
is changed and another deleted behind the service's back (deltalake's own API
on the dataset's Delta table), and a source row is added and another deleted in
the emulator: verify, through the API and through the CLI (a separate process on
the same home), reports exactly those keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from flow_journey import build_flow, wait_for_run
from service_harness import (
    ApiClient,
    RunningServer,
    make_settings,
    new_org_id,
    problem_code,
    start_server,
)

from mssql_emulator.testing import RunningEmulator, running_emulator

pytestmark = pytest.mark.timeout(180)
ROWS = 5000
INIT = f"""
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50),
  Amount DECIMAL(10,2), UpdatedAt DATETIME2, Note NVARCHAR(20));
INSERT INTO sales.Orders
SELECT value, CONCAT(N'customer ', value), CAST(value AS decimal(10,2)) / 4,
       DATEADD(minute, value, CAST('2024-03-01' AS datetime2)),
       CASE WHEN value % 7 = 0 THEN NULL ELSE N'note' END
FROM GENERATE_SERIES(1, {ROWS});
CREATE TABLE sales.Notes (Body NVARCHAR(50));
INSERT INTO sales.Notes VALUES (N'no key here');
"""
ONCE_LATER = {"startTime": str(int(datetime.now(UTC).timestamp()) + 86_400), "frequency": "once"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def server(home: Path) -> Iterator[RunningServer]:
    running = start_server(
        make_settings(home, f"sqlite:///{home / 'flowservice.db'}", scheduler_interval_seconds=0.3)
    )
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningServer) -> Iterator[ApiClient]:
    api = ApiClient(server, org_id=new_org_id(), client_id="e2e-verify")
    yield api
    api.close()


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[INIT]) as running:
        yield running


def copied_flow(client: ApiClient, emulator: RunningEmulator, table: str) -> tuple[str, str]:
    """A full-snapshot flow of ``table`` that has run once: (flow id, dataset id)."""
    journey = build_flow(client, emulator, table=table, delta_column=None, schedule=ONCE_LATER)
    run = client.post("/runs", json={"flowId": journey.flow_id})
    assert run.status_code == 201, run.text
    finished = wait_for_run(client, run.json()["id"])
    assert finished["metrics"]["statusSummary"]["status"] == "success", finished
    return journey.flow_id, journey.dataset_id


def verify(client: ApiClient, flow_id: str, **params: Any) -> dict[str, Any]:
    response = client.post(f"/flows/{flow_id}/verify", params=params)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def delta_table(home: Path, dataset_id: str) -> DeltaTable:
    (log,) = [p for p in (home / "lake").rglob("_delta_log") if p.parent.name == dataset_id]
    return DeltaTable(str(log.parent))


def cli_verify(home: Path, client: ApiClient, flow_id: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    command = [sys.executable, "-m", "flowservice", "flows", "verify", flow_id]
    done = subprocess.run(
        [*command, "--org", client.org_id, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "COLUMNS": "200"},
    )
    return done.returncode, done.stdout, done.stderr


def keys(found: dict[str, Any]) -> list[int]:
    return [sample["OrderID"] for sample in found["samples"]]


def test_verify_reports_exactly_the_keys_changed_behind_the_services_back(
    client: ApiClient, emulator: RunningEmulator, home: Path
) -> None:
    flow_id, dataset_id = copied_flow(client, emulator, "sales.Orders")

    equal = verify(client, flow_id)
    assert equal["equal"] is True, equal
    assert equal["flowId"] == flow_id and equal["dataSetId"] == dataset_id
    assert equal["table"] == "sales.Orders"
    assert equal["keyColumns"] == ["OrderID"]
    assert equal["columns"] == ["OrderID", "Customer", "Amount", "UpdatedAt", "Note"]
    assert equal["sourceRowCount"] == equal["datasetRowCount"] == ROWS
    for kind in ("missing", "extra", "different"):
        assert equal[kind] == {"count": 0, "samples": []}
    assert equal["rangesChecked"] >= 1 and equal["seconds"] > 0

    # behind the service's back: the dataset through deltalake, the source through SQL
    table = delta_table(home, dataset_id)
    table.update(predicate='"OrderID" = 17', updates={'"Customer"': "'tampered'"})
    table.delete('"OrderID" = 42')
    emulator.server.engine.run_script(  # type: ignore[union-attr]
        emulator.database,
        f"INSERT INTO sales.Orders VALUES ({ROWS + 1}, N'new', 1.25, '2024-04-01', NULL);"
        "DELETE FROM sales.Orders WHERE OrderID = 99;",
    )

    report = verify(client, flow_id)
    assert report["equal"] is False
    assert report["missing"] == {"count": 2, "samples": [{"OrderID": 42}, {"OrderID": ROWS + 1}]}
    assert report["extra"] == {"count": 1, "samples": [{"OrderID": 99}]}
    assert report["different"] == {"count": 1, "samples": [{"OrderID": 17}]}
    assert (report["sourceRowCount"], report["datasetRowCount"]) == (ROWS, ROWS - 1)
    assert report["levels"] >= 1 and report["sourcePasses"] >= 2

    one = verify(client, flow_id, samples=1)
    assert keys(one["missing"]) == [42] and one["missing"]["count"] == 2

    # the CLI, in a process of its own on the service's home, says the same
    code, out, err = cli_verify(home, client, flow_id, "-o", "json")
    assert code == 1, err
    printed = json.loads(out)
    for kind in ("missing", "extra", "different", "sourceRowCount", "datasetRowCount", "equal"):
        assert printed[kind] == report[kind], kind
    code, text, err = cli_verify(home, client, flow_id)
    assert code == 1, err
    assert "NOT EQUAL" in text and "missing from the dataset" in text
    assert "42, 5001" in text and "tampered" not in text

    # a new run copies the source again: equal
    rerun = client.post("/runs", json={"flowId": flow_id})
    assert wait_for_run(client, rerun.json()["id"])["metrics"]["statusSummary"]["status"] == (
        "success"
    )
    assert verify(client, flow_id)["equal"] is True
    code, text, err = cli_verify(home, client, flow_id)
    assert code == 0, err
    assert "EQUAL" in text and "NOT EQUAL" not in text


def test_verify_refuses_what_it_cannot_compare(
    client: ApiClient, emulator: RunningEmulator, home: Path
) -> None:
    incremental = build_flow(
        client, emulator, table="sales.Orders", delta_column="UpdatedAt", schedule=ONCE_LATER
    )
    refused = client.post(f"/flows/{incremental.flow_id}/verify")
    assert refused.status_code == 400
    assert problem_code(refused) == "FLOW-1100-400"
    message = refused.json()["errorMessage"]
    assert "append mode" in message and "not a mirror" in message
    code, _out, err = cli_verify(home, client, incremental.flow_id)
    assert code == 2 and "not a mirror" in err

    keyless, _dataset = copied_flow(client, emulator, "sales.Notes")
    no_key = client.post(f"/flows/{keyless}/verify")
    assert no_key.status_code == 400
    assert "no primary key" in no_key.json()["errorMessage"]

    assert client.post("/flows/no-such-flow/verify").status_code == 404
    too_many = client.post(f"/flows/{keyless}/verify", params={"samples": 1001})
    assert too_many.status_code == 400
    # another org sees no such flow
    other = client.as_other(org_id=new_org_id(), client_id="e2e-verify-other")
    assert other.post(f"/flows/{keyless}/verify").status_code == 404
    other.close()
