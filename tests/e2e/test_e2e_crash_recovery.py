"""A server killed (SIGKILL) mid-run: after a restart the run is picked up again and completes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from flow_journey import build_flow, commits, read_dataset, runs_of, wait_for_run
from gated_engine import Gate, GatedEngine
from server_process import ServerProcess, client_of
from service_harness import new_org_id

from flowservice.demo.processes import free_port
from mssql_emulator.testing import default_engine, running_emulator

pytestmark = pytest.mark.timeout(120)
ROWS = 50_000


def test_killed_server_mid_run_completes_the_run_after_restart(
    tmp_path: Path, processes: list[ServerProcess]
) -> None:
    home, port, org = tmp_path / "home", free_port(), new_org_id()
    engine = default_engine(["testdb"])
    engine.run_script(  # type: ignore[attr-defined]
        "testdb",
        "CREATE TABLE dbo.Events (ID INT PRIMARY KEY, Label NVARCHAR(40), At DATETIME2);",
    )
    engine.load_arrow(  # type: ignore[attr-defined]
        "testdb",
        "dbo.Events",
        pa.table(
            {
                "ID": pa.array(range(ROWS), pa.int32()),
                "Label": pa.array([f"event {i}" for i in range(ROWS)]),
                "At": pa.array(
                    [datetime(2024, 1, 1) + timedelta(seconds=i) for i in range(ROWS)],
                    pa.timestamp("us"),
                ),
            }
        ),
    )
    gated = GatedEngine(engine, Gate("[dbo].[Events]"))
    processes.append(ServerProcess(home, port))
    with running_emulator(engine=gated) as emulator:  # type: ignore[arg-type]
        api = client_of(home, processes[0].base_url, org)
        start = datetime.now(UTC) + timedelta(days=1)
        journey = build_flow(
            api,
            emulator,
            table="dbo.Events",
            delta_column="At",  # incremental: batches are appended, so a replay would show
            schedule={"startTime": int(start.timestamp()), "frequency": "once"},
        )
        gated.gate.armed = True
        now = int(datetime.now(UTC).timestamp())
        run_id = api.post(
            "/runs",
            json={
                "flowId": journey.flow_id,
                "params": {"windowStartTime": 0, "windowEndTime": now},
            },
        ).json()["id"]
        # the run has its first batch and waits for the rest when the server is killed
        assert gated.gate.reached.wait(timeout=30)
        assert wait_for_run(api, run_id, states=("inProgress",))["state"] == "inProgress"
        processes[0].kill()
        gated.gate.release.set()
        api.close()

        processes.append(ServerProcess(home, port))
        api = client_of(home, processes[1].base_url, org)
        # inProgress until its heartbeat lease expires; then requeued and run again
        done = wait_for_run(api, run_id, timeout=60)
        assert done["metrics"]["statusSummary"]["status"] == "success", done
        assert done["metrics"]["recordSummary"]["outputRecordCount"] == ROWS
        table = read_dataset(api, home, journey.dataset_id)
        assert table.num_rows == ROWS
        assert len(table.column("ID").unique()) == ROWS
        assert commits(home, journey.dataset_id) == 1
        assert [r["id"] for r in runs_of(api, journey.flow_id)] == [run_id]
        api.close()
    engine.close()
