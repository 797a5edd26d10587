"""Change Tracking flows over the real server, driver and emulator: retention cleanup between
runs (automatic re-snapshot), and a server killed (SIGKILL) in the middle of a merge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mssql_python
import pyarrow as pa
import pytest
from flow_journey import Journey, build_flow, commits, read_dataset, runs_of, wait_for_run
from gated_engine import Gate, GatedEngine
from server_process import ServerProcess, client_of
from service_harness import ApiClient, RunningServer, make_settings, new_org_id, start_server

from flowservice.demo.processes import free_port
from mssql_emulator.testing import RunningEmulator, default_engine, running_emulator

pytestmark = pytest.mark.timeout(180)
ROWS = 20_000


def _tomorrow() -> int:
    return int(datetime.now(UTC).timestamp()) + 86_400


def _enable(emulator: RunningEmulator, table: str) -> mssql_python.Connection:
    conn = mssql_python.connect(emulator.odbc_connection_string(), autocommit=True)
    cursor = conn.cursor()
    cursor.execute(
        f"ALTER DATABASE [{emulator.database}] SET CHANGE_TRACKING = ON "
        "(CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)"
    )
    cursor.execute(f"ALTER TABLE {table} ENABLE CHANGE_TRACKING")
    return conn


def _source_rows(conn: mssql_python.Connection, table: str) -> dict[int, tuple[Any, ...]]:
    cursor = conn.cursor()
    cursor.execute(f"SELECT ID, Label, N FROM {table}")
    rows = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    cursor.close()
    return rows


def _dataset_rows(api: ApiClient, home: Path, journey: Journey) -> dict[int, tuple[Any, ...]]:
    table = read_dataset(api, home, journey.dataset_id)
    rows = {r["ID"]: (r["Label"], r["N"]) for r in table.to_pylist()}
    assert len(rows) == table.num_rows, "a key is in the dataset twice"
    return rows


def _run(api: ApiClient, flow_id: str) -> dict[str, Any]:
    response = api.post("/runs", json={"flowId": flow_id})
    assert response.status_code == 201, response.text
    done = wait_for_run(api, response.json()["id"], timeout=90)
    assert done["metrics"]["statusSummary"]["status"] == "success", done
    return done


def _versions(run: dict[str, Any]) -> dict[str, Any]:
    ext: dict[str, Any] = run["activities"][0]["statusSummary"]["extensions"]["changeTracking"]
    assert run["metrics"]["statusSummary"]["extensions"]["changeTracking"] == ext
    return ext


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    home = tmp_path / "home"
    running = start_server(
        make_settings(home, f"sqlite:///{home / 'flowservice.db'}", scheduler_interval_seconds=0.2)
    )
    yield running
    running.stop()


def test_retention_cleanup_between_runs_resnapshots_then_the_copy_is_equal(
    server: RunningServer,
) -> None:
    home = server.settings.home
    org = new_org_id()
    api = ApiClient(server, org_id=org, client_id=f"ct-{org}")
    init = (
        "CREATE TABLE dbo.Items (ID INT PRIMARY KEY, Label NVARCHAR(20), N INT);"
        "INSERT INTO dbo.Items VALUES (1, N'one', 1), (2, N'two', 2), (3, N'three', 3);"
    )
    with running_emulator(init_sql=[init]) as emulator:
        conn = _enable(emulator, "dbo.Items")
        journey = build_flow(
            api,
            emulator,
            table="dbo.Items",
            delta_column=None,
            schedule={"startTime": _tomorrow(), "frequency": "once"},
            source_params={"cdcEnabled": True},
            target_params={"writeMode": "merge"},
        )
        first = _versions(_run(api, journey.flow_id))
        assert first["snapshot"] is True and first["snapshotReason"] == "first run"

        cursor = conn.cursor()
        cursor.execute("UPDATE dbo.Items SET Label = N'TWO' WHERE ID = 2")
        cursor.execute("DELETE FROM dbo.Items WHERE ID = 3")
        cursor.execute("INSERT INTO dbo.Items VALUES (4, N'four', 4)")
        second = _run(api, journey.flow_id)
        changes = _versions(second)
        assert changes["snapshot"] is False and changes["fromVersion"] == first["toVersion"]
        records = second["metrics"]["recordSummary"]
        assert (records["createdRecordCount"], records["deletedRecordCount"]) == (1, 1)
        assert _dataset_rows(api, home, journey) == _source_rows(conn, "dbo.Items")

        # more changes, then cleanup removes what the next run would need
        cursor.execute("DELETE FROM dbo.Items WHERE ID = 1")
        cursor.execute("UPDATE dbo.Items SET N = 40 WHERE ID = 4")
        cursor.execute("SELECT CHANGE_TRACKING_CURRENT_VERSION()")
        current = cursor.fetchone()[0]
        cursor.execute(
            "EXEC sys.sp_flowservice_change_tracking_cleanup "
            "@table_name = N'dbo.Items', @up_to_version = ?",
            current,
        )
        cursor.fetchall()  # the procedure answers what it cleaned up
        while cursor.nextset():
            pass
        third = _versions(_run(api, journey.flow_id))
        assert third["snapshot"] is True
        assert "no longer retained" in third["snapshotReason"]
        assert _dataset_rows(api, home, journey) == _source_rows(conn, "dbo.Items")
        assert set(_source_rows(conn, "dbo.Items")) == {2, 4}

        # and the flow goes on from the snapshot's version
        cursor.execute("INSERT INTO dbo.Items VALUES (5, N'five', 5)")
        fourth = _versions(_run(api, journey.flow_id))
        assert fourth["snapshot"] is False and fourth["fromVersion"] == third["toVersion"]
        assert _dataset_rows(api, home, journey) == _source_rows(conn, "dbo.Items")
        conn.close()
    api.close()


def test_server_killed_mid_merge_commits_nothing_and_the_next_run_converges(
    tmp_path: Path, processes: list[ServerProcess]
) -> None:
    home, port, org = tmp_path / "home", free_port(), new_org_id()
    engine = default_engine(["testdb"])
    engine.run_script(  # type: ignore[attr-defined]
        "testdb", "CREATE TABLE dbo.Events (ID INT PRIMARY KEY, Label NVARCHAR(40), N INT);"
    )
    engine.load_arrow(  # type: ignore[attr-defined]
        "testdb",
        "dbo.Events",
        pa.table(
            {
                "ID": pa.array(range(ROWS), pa.int32()),
                "Label": pa.array([f"event {i}" for i in range(ROWS)]),
                "N": pa.array(range(ROWS), pa.int32()),
            }
        ),
    )
    gated = GatedEngine(engine, Gate("changetable("))
    processes.append(ServerProcess(home, port))
    with running_emulator(engine=gated) as emulator:  # type: ignore[arg-type]
        conn = _enable(emulator, "dbo.Events")
        api = client_of(home, processes[0].base_url, org)
        journey = build_flow(
            api,
            emulator,
            table="dbo.Events",
            delta_column=None,
            schedule={"startTime": _tomorrow(), "frequency": "once"},
            source_params={"cdcEnabled": True},
            target_params={"writeMode": "merge"},
        )
        _run(api, journey.flow_id)  # the snapshot
        cursor = conn.cursor()
        cursor.execute("UPDATE dbo.Events SET N = N + 1000000 WHERE ID % 3 = 0")
        cursor.execute("DELETE FROM dbo.Events WHERE ID % 7 = 0")
        cursor.execute(f"INSERT INTO dbo.Events VALUES ({ROWS}, N'new', 1)")
        before = commits(home, journey.dataset_id)

        gated.gate.armed = True
        run_id = api.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        # the changes have started to arrive when the server is killed
        assert gated.gate.reached.wait(timeout=60)
        processes[0].kill()
        gated.gate.release.set()
        api.close()
        assert commits(home, journey.dataset_id) == before  # nothing partial

        processes.append(ServerProcess(home, port))
        api = client_of(home, processes[1].base_url, org)
        done = wait_for_run(api, run_id, timeout=90)
        assert done["metrics"]["statusSummary"]["status"] == "success", done
        assert commits(home, journey.dataset_id) == before + 1
        assert _dataset_rows(api, home, journey) == _source_rows(conn, "dbo.Events")
        assert [r["id"] for r in runs_of(api, journey.flow_id)].count(run_id) == 1
        conn.close()
        api.close()
    engine.close()
