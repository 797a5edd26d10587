"""End to end over HTTP: a real server and scheduler, the emulator, the real driver, the lake."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from flow_journey import (
    build_flow,
    commits,
    get_run,
    read_dataset,
    runs_of,
    wait_for_first_run,
    wait_for_run,
)
from gated_engine import Gate, GatedEngine
from service_harness import ApiClient, RunningServer, start_server

from flowservice.settings import CATALOG_PREFIX
from mssql_emulator.contract import Engine
from mssql_emulator.server import EmulatorServer, ServerConfig
from mssql_emulator.testing import default_engine, running_emulator

pytestmark = pytest.mark.timeout(120)
ROWS = 200_000

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50),
  Amount DECIMAL(10,2), UpdatedAt DATETIME2, ShipDate NVARCHAR(20));
INSERT INTO sales.Orders VALUES
  (1, N'Ann', 10.50, '2024-03-01 12:00:00', N'2024-03-05'),
  (2, N'Bob', 20.00, '2024-03-01 12:30:00', N'soon'),
  (3, N'Cé', NULL, '2024-03-02 08:15:00', N'2024-03-07');
"""


@pytest.fixture
def isolated_source_reads() -> bool:
    # the default reads in fork-server children; a test may ask for in-thread reads
    return True


@pytest.fixture
def server_settings(isolated_source_reads: bool) -> dict[str, Any]:
    return {
        "run_retry_attempts": 2,
        "run_retry_base_delay": 0.1,
        "isolated_source_reads": isolated_source_reads,
    }


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.mark.parametrize(
    "isolated_source_reads", [True, False], ids=["child-process-reads", "in-thread-reads"]
)
def test_journey_backfill_then_incremental_window(client: ApiClient, home: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=120)
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column="UpdatedAt",
            schedule={"startTime": str(_epoch(start)), "frequency": "minute", "interval": "15"},
        )
        # backfill: the scheduler's first window is [beginning of history, startTime)
        first_id = wait_for_first_run(client, journey.flow_id)
        first = wait_for_run(client, first_id)
        assert first["metrics"]["statusSummary"]["status"] == "success", first
        assert first["metrics"]["recordSummary"]["outputRecordCount"] == 3
        copy = first["activities"][0]
        assert copy["id"] == "copyActivity"
        assert copy["durationSummary"]["extensions"] == {
            "windowStart": 0,
            "windowEnd": _epoch(start) * 1000,
        }
        batch_ids = first["activities"][1]["targetInfo"][0]["reference"]["ids"]
        table = read_dataset(client, home, journey.dataset_id).sort_by("OrderID")
        assert table.column("OrderID").to_pylist() == [1, 2, 3]
        assert table.column("Customer").to_pylist() == ["Ann", "Bob", "Cé"]
        assert [None if v is None else str(v) for v in table.column("Amount").to_pylist()] == [
            "10.50",
            "20.00",
            None,
        ]
        assert table.column("UpdatedAt").to_pylist()[0].replace(tzinfo=None) == datetime(
            2024, 3, 1, 12, 0
        )
        assert len(batch_ids) == 1
        # the run's commit is the Catalog batch the promotion activity names
        by_flow = client.request(
            "GET",
            "/batches",
            prefix=CATALOG_PREFIX,
            params={"property": f"tags.flowId[]=={journey.flow_id}"},
        ).json()
        assert list(by_flow) == batch_ids
        assert by_flow[batch_ids[0]]["tags"]["runId"] == [first_id]
        assert by_flow[batch_ids[0]]["recordCount"] == 3

        flow = client.get(f"/flows/{journey.flow_id}").json()["items"][0]
        assert flow["lastRunDetails"]["id"] == first_id
        assert flow["lastRunDetails"]["state"] == "success"

        # one new row and one update, both after the first window's end
        changed = (start + timedelta(seconds=30)).strftime("%Y-%m-%d %H:%M:%S")
        emulator.server.engine.run_script(  # type: ignore[attr-defined]
            emulator.database,
            f"INSERT INTO sales.Orders VALUES (4, N'Dan', 7.25, '{changed}', N'2024-04-01');"
            f"UPDATE sales.Orders SET Customer = N'Bobby', UpdatedAt = '{changed}' "
            "WHERE OrderID = 2;",
        )
        response = client.post(
            "/runs",
            json={
                "flowId": journey.flow_id,
                "params": {
                    "windowStartTime": str(_epoch(start)),
                    "windowEndTime": str(_epoch(datetime.now(UTC))),
                },
            },
        )
        assert response.status_code == 201, response.text
        second = wait_for_run(client, response.json()["id"])
        assert second["metrics"]["statusSummary"]["status"] == "success", second
        assert second["metrics"]["recordSummary"]["inputRecordCount"] == 2
        assert second["metrics"]["recordSummary"]["outputRecordCount"] == 2
        table = read_dataset(client, home, journey.dataset_id)
        rows = sorted(
            zip(
                table.column("OrderID").to_pylist(),
                table.column("Customer").to_pylist(),
                strict=True,
            )
        )
        # the window appends exactly the changed rows; the update is a new version of row 2
        assert rows == [(1, "Ann"), (2, "Bob"), (2, "Bobby"), (3, "Cé"), (4, "Dan")]
        listed = client.get(
            "/runs", params={"property": [f"flowId=={journey.flow_id}", "state==success"]}
        ).json()["items"]
        assert {r["id"] for r in listed} == {first_id, second["id"]}


def _big_orders(rows: int) -> pa.Table:
    return pa.table(
        {
            "OrderID": pa.array(range(rows), pa.int32()),
            "Customer": pa.array([f"customer {i % 977}" for i in range(rows)], pa.string()),
            "UpdatedAt": pa.array(
                [datetime(2024, 1, 1) + timedelta(seconds=i) for i in range(rows)],
                pa.timestamp("us"),
            ),
        }
    )


def _gated_big_table() -> tuple[Engine, GatedEngine]:
    """An engine holding ``dbo.Big`` (``ROWS`` orders), and a gate on its reads."""
    engine = default_engine(["testdb"])
    engine.run_script(  # type: ignore[attr-defined]
        "testdb",
        "CREATE TABLE dbo.Big (OrderID INT PRIMARY KEY, Customer NVARCHAR(40), "
        "UpdatedAt DATETIME2);",
    )
    engine.load_arrow("testdb", "dbo.Big", _big_orders(ROWS))  # type: ignore[attr-defined]
    return engine, GatedEngine(engine, Gate("[dbo].[Big]"))


def test_source_down_mid_run_fails_commits_nothing_and_retrigger_succeeds(
    client: ApiClient, home: Path
) -> None:
    engine, gated = _gated_big_table()
    with running_emulator(engine=gated) as emulator:  # type: ignore[arg-type]
        journey = build_flow(
            client,
            emulator,
            table="dbo.Big",
            delta_column=None,  # a full snapshot per run
            schedule={"startTime": _epoch(datetime.now(UTC)) + 86_400, "frequency": "once"},
        )
        gated.gate.armed = True
        response = client.post("/runs", json={"flowId": journey.flow_id})
        run_id = response.json()["id"]
        # the first batch has reached the run; the source goes away before the rest
        assert gated.gate.reached.wait(timeout=30)
        assert get_run(client, run_id)["metrics"]["statusSummary"]["status"] == "inProgress"
        port = emulator.port
        stopping = threading.Thread(target=emulator.server.stop)
        stopping.start()
        time.sleep(0.5)
        gated.gate.release.set()
        stopping.join(timeout=30)
        failed = wait_for_run(client, run_id)
        assert failed["metrics"]["statusSummary"]["status"] == "failed", failed
        errors = failed["metrics"]["statusSummary"]["errors"]
        assert [e["code"] for e in errors] == ["CONNECTOR-1001-500"]
        assert emulator.password not in str(errors)
        assert commits(home, journey.dataset_id) == 0

        # the source is back: re-trigger the same run
        back = EmulatorServer(
            ServerConfig(
                users={emulator.user: emulator.password},
                database=emulator.database,
                host="127.0.0.1",
                port=port,
            ),
            engine,
        ).start()
        try:
            again = client.post(f"/runs/{run_id}/action", params={"op": "re-trigger"})
            assert again.status_code == 200, again.text
            done = wait_for_run(client, run_id)
            assert done["metrics"]["statusSummary"]["status"] == "success", done
            table = read_dataset(client, home, journey.dataset_id)
            assert table.num_rows == ROWS
            ids = table.column("OrderID")
            assert len(ids.unique()) == ROWS
            assert [r["id"] for r in runs_of(client, journey.flow_id)] == [run_id]
            assert get_run(client, run_id)["metrics"]["recordSummary"]["outputRecordCount"] == (
                ROWS
            )
        finally:
            back.stop()
    time.sleep(0)


MAPPINGS = [
    {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
    {"sourceAttribute": "upper(Customer)", "destinationXdmPath": "customer"},
    {"sourceAttribute": 'to_date(ShipDate, "yyyy-MM-dd")', "destinationXdmPath": "shipped"},
]


def test_too_many_failed_records_fail_the_run_and_commit_nothing(
    client: ApiClient, home: Path
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column=None,
            schedule={"startTime": _epoch(datetime.now(UTC)) + 86_400, "frequency": "once"},
            mappings=MAPPINGS,
            options={"partialIngestionPercent": 10},
        )
        run_id = client.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        run = wait_for_run(client, run_id)
        summary = run["metrics"]["statusSummary"]
        assert summary["status"] == "failed", summary
        assert [e["code"] for e in summary["errors"]] == ["CONNECTOR-2001-500"]
        assert "33.33%" in summary["errors"][0]["message"]
        assert run["metrics"]["recordSummary"]["failedRecordCount"] == 1
        assert commits(home, journey.dataset_id) == 0


def test_mapping_set_and_partial_ingestion(client: ApiClient, home: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column=None,
            schedule={"startTime": _epoch(datetime.now(UTC)) + 86_400, "frequency": "once"},
            mappings=MAPPINGS,
            options={"partialIngestionPercent": "40", "errorDiagnosticsEnabled": "true"},
        )
        run_id = client.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        run = wait_for_run(client, run_id)
        assert run["metrics"]["statusSummary"]["status"] == "success", run
        records = run["metrics"]["recordSummary"]
        # 'soon' is no date: 1 of 3 records (33 %) fails, within the 40 % allowed
        assert records == {"inputRecordCount": 3, "outputRecordCount": 2, "failedRecordCount": 1}
        (sample,) = run["metrics"]["statusSummary"]["extensions"]["errorSamples"]
        assert sample["row"] == 1 and sample["column"] == "shipped"
        table = read_dataset(client, home, journey.dataset_id).sort_by("orderId")
        assert table.column_names == ["orderId", "customer", "shipped"]
        assert table.column("orderId").to_pylist() == [1, 3]
        assert table.column("customer").to_pylist() == ["ANN", "CÉ"]
        assert [str(d) for d in table.column("shipped").to_pylist()] == ["2024-03-05", "2024-03-07"]
        # the run's batch is recorded in the Catalog with its failed record
        (batch_id,) = run["activities"][1]["targetInfo"][0]["reference"]["ids"]
        batch = client.request("GET", f"/batches/{batch_id}", prefix=CATALOG_PREFIX).json()
        assert batch[batch_id]["status"] == "success"
        assert batch[batch_id]["recordCount"] == 2
        assert batch[batch_id]["failedRecordCount"] == 1
        assert batch[batch_id]["tags"] == {"flowId": [journey.flow_id], "runId": [run_id]}


def test_cancel_sent_to_another_process_stops_the_run(
    client: ApiClient, server: RunningServer, home: Path
) -> None:
    engine, gated = _gated_big_table()
    # a second API process on the same database, executing nothing itself
    other = start_server(server.settings.model_copy(update={"scheduler_enabled": False}))
    elsewhere = ApiClient(other, org_id=client.org_id, client_id=client.client_id)
    try:
        with running_emulator(engine=gated) as emulator:  # type: ignore[arg-type]
            journey = build_flow(
                client,
                emulator,
                table="dbo.Big",
                delta_column=None,
                schedule={"startTime": _epoch(datetime.now(UTC)) + 86_400, "frequency": "once"},
            )
            gated.gate.armed = True
            run_id = client.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
            assert gated.gate.reached.wait(timeout=30)
            stop = elsewhere.post(f"/runs/{run_id}/action", params={"op": "cancel"})
            assert stop.status_code == 200, stop.text
            time.sleep(1.5)  # more than the executing worker's poll interval
            gated.gate.release.set()
            done = wait_for_run(client, run_id)
            assert done["metrics"]["statusSummary"]["status"] == "cancelled", done
            assert commits(home, journey.dataset_id) == 0
            # and it can run again
            again = elsewhere.post(f"/runs/{run_id}/action", params={"op": "re-trigger"})
            assert again.status_code == 200, again.text
            rerun = wait_for_run(client, run_id)
            assert rerun["metrics"]["statusSummary"]["status"] == "success", rerun
            assert read_dataset(client, home, journey.dataset_id).num_rows == ROWS
    finally:
        elsewhere.close()
        other.stop()
        engine.close()


def test_once_runs_once_at_its_start_time(client: ApiClient, home: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        start = _epoch(datetime.now(UTC)) + 3
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column="UpdatedAt",
            schedule={"startTime": start, "frequency": "once"},
        )
        assert runs_of(client, journey.flow_id) == []  # not before its start time
        run_id = wait_for_first_run(client, journey.flow_id)
        assert time.time() >= start
        run = wait_for_run(client, run_id)
        assert run["metrics"]["statusSummary"]["status"] == "success", run
        assert run["activities"][0]["durationSummary"]["extensions"]["windowEnd"] == start * 1000
        time.sleep(1.5)  # several more ticks: nothing else is scheduled
        assert [r["id"] for r in runs_of(client, journey.flow_id)] == [run_id]
        assert read_dataset(client, home, journey.dataset_id).num_rows == 3
