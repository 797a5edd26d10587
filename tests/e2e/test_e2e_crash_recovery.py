"""A server killed (SIGKILL) mid-run: after a restart the run is picked up again and completes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pyarrow as pa
import pytest
from conftest import TEST_TOKEN_SECRET, ApiClient, make_settings, new_org_id
from flow_journey import build_flow, commits, read_dataset, runs_of, wait_for_run

from mssql_emulator.server import EmulatorServer, ServerConfig
from mssql_emulator.testing import default_engine, running_emulator

pytestmark = pytest.mark.timeout(120)
ROWS = 50_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``python -m flowservice serve`` in its own process (so it can be SIGKILLed)."""

    def __init__(self, home: Path, port: int) -> None:
        env = dict(os.environ)
        env.update(
            {
                "FLOWSERVICE_TOKEN_SECRET": TEST_TOKEN_SECRET,
                "FLOWSERVICE_SCHEDULER_INTERVAL_SECONDS": "0.3",
                "FLOWSERVICE_SCHEDULER_LEASE_SECONDS": "3",
                "FLOWSERVICE_RUN_HEARTBEAT_SECONDS": "3",
                "FLOWSERVICE_RUN_RETRY_ATTEMPTS": "100",
                "FLOWSERVICE_RUN_RETRY_BASE_DELAY": "0.2",
                "FLOWSERVICE_LOG_LEVEL": "WARNING",
            }
        )
        self.base_url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flowservice",
                "serve",
                "--home",
                str(home),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def _client(home: Path, base_url: str, org_id: str) -> ApiClient:
    settings = make_settings(home)
    server = SimpleNamespace(settings=settings, base_url=base_url)
    return ApiClient(server, org_id=org_id, client_id="crash-client")  # type: ignore[arg-type]


def test_killed_server_mid_run_completes_the_run_after_restart(
    tmp_path: Path, processes: list[ServerProcess]
) -> None:
    home, port, org = tmp_path / "home", _free_port(), new_org_id()
    engine = default_engine(["testdb"])
    engine.run_script(  # type: ignore[attr-defined]
        "testdb", "CREATE TABLE dbo.Events (ID INT PRIMARY KEY, Label NVARCHAR(40));"
    )
    engine.load_arrow(  # type: ignore[attr-defined]
        "testdb",
        "dbo.Events",
        pa.table(
            {
                "ID": pa.array(range(ROWS), pa.int32()),
                "Label": pa.array([f"event {i}" for i in range(ROWS)]),
            }
        ),
    )
    processes.append(ServerProcess(home, port))
    with running_emulator(engine=engine) as emulator:
        api = _client(home, processes[0].base_url, org)
        start = datetime.now(UTC) + timedelta(days=1)
        journey = build_flow(
            api,
            emulator,
            table="dbo.Events",
            delta_column=None,
            schedule={"startTime": int(start.timestamp()), "frequency": "once"},
        )
        # with the source away the run stays inProgress, retrying, when the server dies
        emulator_port = emulator.port
        emulator.server.stop()
        run_id = api.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        wait_for_run(api, run_id, states=("inProgress",), timeout=30)
        time.sleep(1.0)
        processes[0].kill()
        api.close()

    back = EmulatorServer(
        ServerConfig(
            users={emulator.user: emulator.password},
            database=emulator.database,
            host="127.0.0.1",
            port=emulator_port,
        ),
        engine,
    ).start()
    try:
        processes.append(ServerProcess(home, port))
        api = _client(home, processes[1].base_url, org)
        # still inProgress right after the restart: its heartbeat lease has not expired yet
        done = wait_for_run(api, run_id, timeout=60)
        assert done["metrics"]["statusSummary"]["status"] == "success", done
        assert done["metrics"]["recordSummary"]["outputRecordCount"] == ROWS
        table = read_dataset(api, home, journey.dataset_id)
        assert table.num_rows == ROWS
        assert len(table.column("ID").unique()) == ROWS
        assert commits(home, journey.dataset_id) == 1
        assert [r["id"] for r in runs_of(api, journey.flow_id)] == [run_id]
        api.close()
    finally:
        back.stop()
        engine.close()
