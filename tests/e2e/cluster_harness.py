"""A cluster of separate OS processes for the Celery executor's e2e tests.

Redis (a ``redis-server`` of the test's own, restartable), PostgreSQL metadata
(a fresh database), the lake on moto's S3-compatible server, two
``flowservice serve`` processes and two ``flowservice worker`` processes with
``FLOWSERVICE_EXECUTOR=celery``, one shared home directory (its key files), and
the SQL Server emulator in the test process behind a ``Gate`` that can pause a
chosen read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from flow_journey import Journey, build_flow
from gated_engine import Gate, GatedEngine
from moto_s3 import running_s3
from server_process import FAST, ServerProcess, client_of
from service_harness import ApiClient, fresh_postgres_database, new_org_id

from flowservice.demo.processes import free_port
from flowservice.lake.location import LakeLocation, dataset_location
from mssql_emulator.testing import RunningEmulator, default_engine, running_emulator

GATED_TABLE = "dbo.Events"
GATED_ROWS = 50_000
SMALL_TABLE = "dbo.Items"
SMALL_ROWS = 3

CLUSTER_ENV = {
    **FAST,
    "FLOWSERVICE_EXECUTOR": "celery",
    "FLOWSERVICE_BROKER_RESUBMIT_SECONDS": "5",
    "FLOWSERVICE_SOURCE_READ_PARTS": "1",
}
S3_KEY = "cluster"


def s3_lake(endpoint: str) -> LakeLocation:
    """The cluster's lake: bucket ``lake`` of moto's server, with conditional-put commits."""
    options = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_CONDITIONAL_PUT": "etag",
    }
    return LakeLocation("s3://lake/cluster", options)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class RedisServer:
    """``redis-server`` on a free loopback port, in the foreground of a child process."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (scripts/bootstrap.sh test installs it)")
        self.binary, self.folder, self.port = binary, folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self.answers, timeout=30, what="redis-server to answer")

    def answers(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcess:
    """``python -m flowservice worker`` in its own session (killed with its reader children)."""

    def __init__(self, home: Path, env: dict[str, str], log_path: Path, concurrency: int) -> None:
        self.log_path = log_path
        log = log_path.open("ab")
        argv = [sys.executable, "-m", "flowservice", "worker", "--home", str(home)]
        argv += ["--concurrency", str(concurrency)]
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        try:
            wait_until(
                lambda: self._ready() or self.process.poll() is not None,
                timeout=90,
                what="the worker to be ready",
            )
            assert self.process.poll() is None, f"the worker exited:\n{self.log()[-3000:]}"
        except BaseException:
            self.kill()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _ready(self) -> bool:
        return re.search(r" ready\.", self.log()) is not None

    def ran(self, run_id: str) -> bool:
        """This worker finished ``run_id`` (its runner logged the outcome)."""
        return any(
            run_id in line and ("run succeeded" in line or "run cancelled" in line)
            for line in self.log().splitlines()
        )

    def kill(self) -> None:
        """SIGKILL to the worker and its children, as a machine that dies."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # reader children left behind, if any


@dataclass
class Cluster:
    home: Path
    database_url: str
    redis: RedisServer
    emulator: RunningEmulator
    gate: Gate
    org: str
    lake: LakeLocation
    apis: list[ServerProcess] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)
    clients: list[ApiClient] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(CLUSTER_ENV)
        env["FLOWSERVICE_DATABASE_URL"] = self.database_url
        env["FLOWSERVICE_BROKER_URL"] = self.redis.url
        env["FLOWSERVICE_LAKE_ROOT"] = self.lake.uri
        env["FLOWSERVICE_LAKE_STORAGE_OPTIONS"] = json.dumps(dict(self.lake.storage_options))
        env.update(extra)
        return env

    def start_api(self) -> ServerProcess:
        index = len(self.apis)
        extra = {k: v for k, v in self.env().items() if k.startswith("FLOWSERVICE_")}
        # the servers execute nothing with the Celery executor: no source readers for them
        extra["FLOWSERVICE_ISOLATED_SOURCE_READS"] = "false"
        api = ServerProcess(
            self.home,
            free_port(),
            self.database_url,
            env_extra=extra,
            log_file=self.home.parent / f"api-{index}.log",
        )
        self.apis.append(api)
        return api

    def start_worker(self, concurrency: int = 2) -> WorkerProcess:
        index = len(self.workers)
        worker = WorkerProcess(
            self.home,
            self.env(FLOWSERVICE_LOG_LEVEL="INFO"),
            self.home.parent / f"worker-{index}.log",
            concurrency,
        )
        self.workers.append(worker)
        return worker

    def client(self, api_index: int) -> ApiClient:
        api = client_of(self.home, self.apis[api_index].base_url, self.org)
        self.clients.append(api)
        return api

    def flow(
        self, api: ApiClient, table: str = SMALL_TABLE, schedule: dict[str, Any] | None = None
    ) -> Journey:
        """A flow of ``table``; without ``schedule`` the scheduler never starts it by itself
        (its runs are asked for on demand)."""
        later = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
        return build_flow(
            api,
            self.emulator,
            table=table,
            delta_column="At",  # incremental: a replayed batch would show as duplicate rows
            schedule=schedule or {"startTime": later, "frequency": "once"},
        )

    def _delta_table(self, dataset_id: str) -> DeltaTable | None:
        where = dataset_location(self.lake, org=self.org, sandbox="prod", dataset_id=dataset_id)
        if not DeltaTable.is_deltatable(where.uri, storage_options=where.options()):
            return None
        return DeltaTable(where.uri, storage_options=where.options())

    def read_dataset(self, dataset_id: str) -> pa.Table:
        """The dataset's rows, read from the lake on S3 with deltalake."""
        table = self._delta_table(dataset_id)
        assert table is not None, f"dataset {dataset_id} has no Delta table"
        return table.to_pyarrow_table()

    def commits(self, dataset_id: str) -> int:
        """The number of commits in the dataset's Delta log (0 before its first)."""
        table = self._delta_table(dataset_id)
        return 0 if table is None else table.version() + 1

    def worker_that_ran(self, run_id: str) -> list[WorkerProcess]:
        """The workers that logged ``run_id``'s outcome (the line follows its commit in the
        store by a moment, so this waits for at least one)."""
        wait_until(
            lambda: any(w.ran(run_id) for w in self.workers),
            timeout=15,
            what=f"a worker's outcome line of run {run_id}",
        )
        return [w for w in self.workers if w.ran(run_id)]

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for worker in self.workers:
            worker.stop()
        for api in self.apis:
            api.stop()


def request_run(api: ApiClient, flow_id: str) -> str:
    now = int(datetime.now(UTC).timestamp())
    response = api.post(
        "/runs", json={"flowId": flow_id, "params": {"windowStartTime": 0, "windowEndTime": now}}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _source_engine() -> Any:
    engine = default_engine(["testdb"])
    engine.run_script(
        "testdb",
        f"CREATE TABLE {GATED_TABLE} (ID INT PRIMARY KEY, Label NVARCHAR(40), At DATETIME2);"
        f"CREATE TABLE {SMALL_TABLE} (ID INT PRIMARY KEY, Label NVARCHAR(40), At DATETIME2);"
        f"INSERT INTO {SMALL_TABLE} VALUES (1, N'a', '2024-01-01 00:00:00'),"
        " (2, N'b', '2024-01-02 00:00:00'), (3, N'c', '2024-01-03 00:00:00');",
    )
    start = datetime(2024, 1, 1)
    engine.load_arrow(
        "testdb",
        GATED_TABLE,
        pa.table(
            {
                "ID": pa.array(range(GATED_ROWS), pa.int32()),
                "Label": pa.array([f"event {i}" for i in range(GATED_ROWS)]),
                "At": pa.array(
                    [start + timedelta(seconds=i) for i in range(GATED_ROWS)], pa.timestamp("us")
                ),
            }
        ),
    )
    return engine


@contextmanager
def running_cluster(tmp_path: Path, *, apis: int = 2, workers: int = 2) -> Iterator[Cluster]:
    """The whole cluster, stopped (every process) when the block ends."""
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_postgres_database("flowservice_cluster"))
        redis = RedisServer(tmp_path / "redis")
        stack.callback(redis.kill)
        lake = s3_lake(stack.enter_context(running_s3(access_key=S3_KEY, secret_key=S3_KEY)))
        engine = _source_engine()
        stack.callback(engine.close)
        gated = GatedEngine(engine, Gate(f"[dbo].[{GATED_TABLE.split('.')[1]}]"))
        emulator = stack.enter_context(running_emulator(engine=gated))  # type: ignore[arg-type]
        home = tmp_path / "home"
        cluster = Cluster(home, database_url, redis, emulator, gated.gate, new_org_id(), lake)
        stack.callback(cluster.close)
        stack.callback(gated.gate.release.set)  # never leave a read paused behind a failure
        for _ in range(apis):
            cluster.start_api()
        for _ in range(workers):
            cluster.start_worker()
        yield cluster
