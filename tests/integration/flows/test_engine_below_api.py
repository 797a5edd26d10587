"""The run engine built from a bare ``Core``, as a worker process builds it: no FastAPI in it.

A server with ``scheduler_enabled=false`` (API only) holds the flows and takes
the run requests; the runner or engine under test, started in the test from the
same DB and lake, executes them against the emulator with the real driver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    RunningServer,
    create_dataset,
    created_id,
    fresh_postgres_database,
    make_settings,
    new_org_id,
    source_connection_body,
    sql_server_connection_body,
    start_server,
    target_connection_body,
)

from flowservice.connectors.base import Connector
from flowservice.core import Core
from flowservice.errors import Conflict
from flowservice.flows.cancellation import CancelEvent
from flowservice.flows.catalog_runs import CatalogRunRepository
from flowservice.flows.engine import FlowEngine
from flowservice.flows.executors.base import Executor, RunHandler
from flowservice.flows.persistence import runs
from flowservice.flows.persistence.batches import BATCH_KIND
from flowservice.flows.persistence.leases import DbLeaseStore
from flowservice.flows.process_runner import build_runner
from flowservice.flows.run_progress import ProgressSnapshot
from flowservice.flows.run_state import RunError, RunStatus
from flowservice.flows.runner import Runner
from flowservice.settings import CATALOG_PREFIX
from flowservice.store.tables import Resource
from mssql_emulator.testing import RunningEmulator, running_emulator

pytestmark = pytest.mark.timeout(120)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (
  OrderID INT PRIMARY KEY, Customer NVARCHAR(50), Amount DECIMAL(10,2));
INSERT INTO sales.Orders VALUES (1, N'Ann', 10.50), (2, N'Bob', 20.00), (3, N'Cé', NULL);
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[INIT]) as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    """A server that takes requests but executes nothing (its scheduler is off)."""
    home = tmp_path / "home"
    extra: dict[str, Any] = {"scheduler_enabled": False, "isolated_source_reads": False}
    if request.param == "sqlite":
        running = start_server(make_settings(home, f"sqlite:///{home / 'flowservice.db'}", **extra))
        yield running
        running.stop()
        return
    with fresh_postgres_database("flowservice_engine") as url:
        running = start_server(make_settings(home, url, **extra))
        yield running
        running.stop()


@pytest.fixture
def client(api_only: RunningServer) -> Iterator[ApiClient]:
    api = ApiClient(api_only, org_id=new_org_id(), client_id="engine-client")
    yield api
    api.close()


@pytest.fixture
def core(api_only: RunningServer) -> Iterator[Core]:
    started = Core.start(api_only.settings)
    yield started
    started.close()


def _flow(api: ApiClient, emulator: RunningEmulator) -> tuple[str, str]:
    """A flow copying sales.Orders into a new dataset, scheduled once tomorrow: (flow, dataset)."""
    connection_string = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"User ID={emulator.user};Password={emulator.password};Encrypt=False;"
    )
    base = created_id(api.post("/connections", json=sql_server_connection_body(connection_string)))
    dataset_id = create_dataset(api, "orders copy")
    source = created_id(
        api.post(
            "/sourceConnections",
            json=source_connection_body(name="orders", base_id=base, table="sales.Orders"),
        )
    )
    target = created_id(
        api.post(
            "/targetConnections", json=target_connection_body(name="lake", dataset_id=dataset_id)
        )
    )
    tomorrow = int(datetime.now(UTC).timestamp()) + 86_400
    flow = created_id(
        api.post(
            "/flows",
            json={
                "name": "copy orders",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [{"name": "Copy", "params": {}}],
                "scheduleParams": {"startTime": tomorrow, "frequency": "once"},
            },
        )
    )
    return flow, dataset_id


def _status(api: ApiClient, run_id: str) -> dict[str, Any]:
    response = api.get(f"/runs/{run_id}")
    assert response.status_code == 200, response.text
    metrics: dict[str, Any] = response.json()["items"][0]["metrics"]
    return metrics


def _assert_copied_and_recorded(
    api: ApiClient, core: Core, run_id: str, dataset_id: str, home: Path
) -> None:
    metrics = _status(api, run_id)
    assert metrics["statusSummary"]["status"] == "success", metrics
    assert metrics["recordSummary"]["outputRecordCount"] == 3
    tables = [p.parent for p in (home / "lake").rglob("_delta_log") if dataset_id in str(p)]
    assert len(tables) == 1, tables
    ids = DeltaTable(str(tables[0])).to_pyarrow_table().column("OrderID").to_pylist()
    assert sorted(ids) == [1, 2, 3]
    with core.transaction() as session:
        batch_id = runs.run_of(runs.run_row(session, run_id)).batch_id
        assert batch_id is not None
        row = session.get(Resource, batch_id)
        # recorded as a Catalog batch row, not only listed from the lake's commit
        assert row is not None and row.kind == BATCH_KIND and row.parent_id == dataset_id
    batch = api.request("GET", f"/batches/{batch_id}", prefix=CATALOG_PREFIX).json()[batch_id]
    assert batch["recordCount"] == 3
    assert batch["tags"]["runId"] == [run_id]


def test_a_runner_built_from_the_core_executes_a_run_and_records_its_batch(
    client: ApiClient, core: Core, emulator: RunningEmulator, api_only: RunningServer
) -> None:
    flow_id, dataset_id = _flow(client, emulator)
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    assert _status(client, run_id)["statusSummary"]["status"] == "scheduled"  # nobody runs it

    runner = build_runner(core, holder="worker-under-test")
    runner.start()
    try:
        runner(run_id, CancelEvent())
        runner(run_id, CancelEvent())  # a second delivery of the same run is a no-op
    finally:
        runner.stop()
    _assert_copied_and_recorded(client, core, run_id, dataset_id, api_only.settings.home)


class StalledHeartbeat:
    """Lease times that jump past the heartbeat ttl once ``stall()`` is called."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def stall(self, seconds: float) -> None:
        self.offset += seconds


def test_a_worker_requeued_while_it_ran_records_nothing_and_the_next_attempt_counts(
    client: ApiClient, core: Core, emulator: RunningEmulator, api_only: RunningServer
) -> None:
    # the process stalls past its heartbeat ttl mid-copy and its own recovery requeues the
    # run before the heartbeat thread notices: the stale attempt must not write its result
    flow_id, dataset_id = _flow(client, emulator)
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    clock = StalledHeartbeat()
    recovered: list[list[str]] = []

    class RecoveringReader:
        def __init__(self, connector: Connector) -> None:
            self.connector = connector

        def read(self, table: str, **kwargs: Any) -> Any:
            if not recovered:
                clock.stall(120)  # well past the ttl: the lease looks expired
                recovered.append(runner.recover())
            return self.connector.read(table, **kwargs)

    repo = CatalogRunRepository(core)
    runner = Runner(
        repo, DbLeaseStore(core.sessions, clock=clock), holder="one-process", heartbeat_ttl=60
    )
    runner.reader = RecoveringReader
    runner(run_id, CancelEvent())
    assert recovered == [[run_id]]
    stale = repo.load(run_id)
    assert (stale.status, stale.attempt, stale.batch_id) == (RunStatus.SCHEDULED, 1, None)

    runner(run_id, CancelEvent())  # the requeued attempt, as the scheduler resubmits it
    done = repo.load(run_id)
    assert (done.status, done.attempt) == (RunStatus.SUCCESS, 2)
    _assert_copied_and_recorded(client, core, run_id, dataset_id, api_only.settings.home)


def test_a_stale_attempt_cannot_overwrite_the_next_one(
    client: ApiClient, core: Core, emulator: RunningEmulator
) -> None:
    flow_id, _ = _flow(client, emulator)
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    repo = CatalogRunRepository(core)
    now = datetime.now(UTC)
    first = repo.load(run_id)
    first.start(now)
    repo.save(first)
    recovery = repo.load(run_id)
    recovery.requeue(now)
    repo.save(recovery)
    second = repo.load(run_id)
    second.start(now)
    repo.save(second)
    with pytest.raises(Conflict):
        repo.save(first)  # a second start of the first attempt is refused too
    first.fail(RunError(code="X", message="late"), now)
    with pytest.raises(Conflict):
        repo.finish(first, watermark=None)
    stored = repo.load(run_id)
    assert (stored.status, stored.attempt, stored.errors) == (RunStatus.IN_PROGRESS, 2, [])
    second.succeed(now, batch_id=None)
    repo.finish(second, watermark=None)
    assert repo.load(run_id).status is RunStatus.SUCCESS


def test_a_running_run_shows_its_live_counts(
    client: ApiClient, core: Core, emulator: RunningEmulator
) -> None:
    # the source holds its last batch back until GET /runs shows the rows read so far:
    # only the progress reports, saved while the run is still inProgress, can show them
    flow_id, _ = _flow(client, emulator)
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    seen: list[dict[str, Any]] = []

    class WatchedReader:
        def __init__(self, connector: Connector) -> None:
            self.connector = connector

        def read(self, table: str, **kwargs: Any) -> Any:
            yield from self.connector.read(table, **kwargs)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                metrics = _status(client, run_id)
                if metrics["recordSummary"]["inputRecordCount"] == 3:
                    seen.append(metrics)
                    return
                time.sleep(0.05)

    runner = Runner(
        CatalogRunRepository(core),
        DbLeaseStore(core.sessions),
        holder="progress",
        reader=WatchedReader,
        progress_interval=0.05,
    )
    runner(run_id, CancelEvent())
    assert len(seen) == 1, "the live counts never showed"
    assert seen[0]["statusSummary"]["status"] == "inProgress"
    assert seen[0]["recordSummary"]["outputRecordCount"] <= 3
    final = _status(client, run_id)
    assert final["statusSummary"]["status"] == "success"
    assert final["recordSummary"]["inputRecordCount"] == 3  # the final counts replace them
    assert final["recordSummary"]["outputRecordCount"] == 3


def test_progress_is_never_saved_over_another_attempt(
    client: ApiClient, core: Core, emulator: RunningEmulator
) -> None:
    flow_id, _ = _flow(client, emulator)
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    repo = CatalogRunRepository(core)
    live = ProgressSnapshot(read=7, written=5, failed=1)
    waiting = repo.load(run_id)
    with core.transaction() as session:  # not started: nothing to show
        assert not runs.save_progress(session, run_id=run_id, attempt=0, live=live)
    waiting.start(datetime.now(UTC))
    repo.save(waiting)
    with core.transaction() as session:
        assert not runs.save_progress(session, run_id=run_id, attempt=2, live=live)
        assert runs.save_progress(session, run_id=run_id, attempt=1, live=live)
    counts = repo.load(run_id).counts
    assert (counts.input_records, counts.output_records, counts.failed_records) == (7, 5, 1)
    waiting.cancel(datetime.now(UTC))
    repo.finish(waiting, watermark=None)  # the attempt's own final counts replace them
    assert repo.load(run_id).counts.input_records == 0


class InlineExecutor(Executor):
    """Executes each submitted run at once, in the submitting thread; remembers the ids."""

    def __init__(self, handler: RunHandler) -> None:
        self.handler = handler
        self.submitted: list[str] = []

    def submit(self, run_id: str) -> bool:
        self.submitted.append(run_id)
        self.handler(run_id, CancelEvent())
        return True

    def cancel(self, run_id: str) -> bool:
        return False

    def shutdown(self, *, wait: bool = True, timeout: float | None = None) -> None:
        return None


def test_the_engine_submits_due_runs_to_the_executor_it_is_given(
    client: ApiClient, core: Core, emulator: RunningEmulator, api_only: RunningServer
) -> None:
    flow_id, dataset_id = _flow(client, emulator)
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    engine = FlowEngine(core, executor=InlineExecutor)
    try:
        assert isinstance(engine.executor, InlineExecutor)
        assert engine.loop.tick() == [run_id]  # the leader submits the due on-demand run
        assert engine.executor.submitted == [run_id]
        assert engine.loop.tick() == []  # finished: nothing left to submit
    finally:
        engine.stop()
    _assert_copied_and_recorded(client, core, run_id, dataset_id, api_only.settings.home)


WORKER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    from flowservice.core import Core
    from flowservice.flows.engine import FlowEngine
    from flowservice.flows.process_runner import build_runner
    from flowservice.settings import Settings

    core = Core.start(Settings(home=Path(sys.argv[1])))
    runner = build_runner(core, holder="probe")
    engine = FlowEngine(core)
    engine.executor.shutdown(wait=True)
    core.close()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("fastapi", "starlette"))
    api = sorted(m for m in sys.modules if m.split(".")[:2] == ["flowservice", "api"])
    print(json.dumps({"holder": runner.holder, "web": loaded, "api": api}))
    """
)


def test_building_the_engine_imports_no_web_framework(tmp_path: Path) -> None:
    # the probe's settings come from its arguments only
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    done = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["holder"] == "probe"  # the runner was really built
    assert found == {"holder": "probe", "web": [], "api": []}
    assert (tmp_path / "home" / "flowservice.db").exists()  # on the temporary SQLite home
