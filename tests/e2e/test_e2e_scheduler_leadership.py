"""Two server processes on one PostgreSQL: one schedules; when it dies the other takes over."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flow_journey import build_flow, commits, runs_of, wait_for_first_run, wait_for_run
from server_process import ServerProcess, client_of
from service_harness import fresh_postgres_database, new_org_id
from sqlalchemy import create_engine, text

from flowservice.demo.processes import free_port
from mssql_emulator.testing import running_emulator

pytestmark = [pytest.mark.timeout(120), pytest.mark.postgres]

INIT = """
CREATE TABLE dbo.Items (ID INT PRIMARY KEY, Label NVARCHAR(20), UpdatedAt DATETIME2);
INSERT INTO dbo.Items VALUES (1, N'a', '2024-01-01 00:00:00'), (2, N'b', '2024-01-02 00:00:00');
"""


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of this test alone: other test servers on the shared one would schedule too."""
    with fresh_postgres_database("flowservice_lead") as url:
        yield url


def _leader_pid(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            holder = conn.execute(
                text("SELECT holder FROM leases WHERE name = 'scheduler'")
            ).scalar_one()
    finally:
        engine.dispose()
    return int(str(holder).split(":")[1])


def test_one_scheduler_among_processes_and_failover(
    tmp_path: Path, own_database: str, processes: list[ServerProcess]
) -> None:
    home, org = tmp_path / "home", new_org_id()
    processes.append(ServerProcess(home, free_port(), own_database))
    processes.append(ServerProcess(home, free_port(), own_database))
    with running_emulator(init_sql=[INIT]) as emulator:
        api = client_of(home, processes[0].base_url, org)
        due = int((datetime.now(UTC) - timedelta(seconds=60)).timestamp())
        schedule = {"startTime": due, "frequency": "minute", "interval": 15}
        first = build_flow(
            api, emulator, table="dbo.Items", delta_column="UpdatedAt", schedule=schedule
        )
        run_id = wait_for_first_run(api, first.flow_id)
        run = wait_for_run(api, run_id)
        assert run["metrics"]["statusSummary"]["status"] == "success", str(
            run["metrics"]["statusSummary"]
        )
        time.sleep(2)  # several ticks of both processes
        assert [r["id"] for r in runs_of(api, first.flow_id)] == [run_id]
        assert commits(home, first.dataset_id) == 1

        leader = _leader_pid(own_database)
        by_pid = {p.process.pid: p for p in processes}
        assert leader in by_pid
        os.kill(leader, signal.SIGKILL)
        by_pid[leader].process.wait(timeout=10)
        survivor = next(p for pid, p in by_pid.items() if pid != leader)
        api.close()
        api = client_of(home, survivor.base_url, org)
        second = build_flow(
            api, emulator, table="dbo.Items", delta_column="UpdatedAt", schedule=schedule
        )
        run_id = wait_for_first_run(api, second.flow_id, timeout=30)
        run = wait_for_run(api, run_id)
        assert run["metrics"]["statusSummary"]["status"] == "success", str(
            run["metrics"]["statusSummary"]
        )
        assert _leader_pid(own_database) == survivor.process.pid
        api.close()
