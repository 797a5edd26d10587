"""The engine end to end, offline: scheduler plan → runs → local executor → runner → Delta."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flows_testing_repository import FLOW, MemoryRepository, new_run
from flows_testing_source import T0, TableConnector, rows

from flowservice.errors import SourceConfigError
from flowservice.flows.cancellation import CancelEvent
from flowservice.flows.executors.local import LocalExecutor
from flowservice.flows.lease import InMemoryLeaseStore, run_lease_name
from flowservice.flows.retry import RetryPolicy
from flowservice.flows.run_copy import CopyJob, run_copy
from flowservice.flows.run_json import run_from_record, run_to_record
from flowservice.flows.run_state import LOAD_ERROR_CODE, SOURCE_ERROR_CODE, Run, RunStatus
from flowservice.flows.runner import Runner
from flowservice.flows.schedule import Frequency, Schedule, Window
from flowservice.flows.scheduler import FlowSchedule, plan_runs
from flowservice.lake import Dataset, LakeLocation

WAIT = 10.0
RETRY = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def ids_in(dataset: Dataset) -> list[int]:
    source = dataset.to_pyarrow_dataset()
    return [] if source is None else sorted(source.to_table(columns=["Id"])["Id"].to_pylist())


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset.create(LakeLocation.local(tmp_path / "people"))


@pytest.fixture
def source() -> TableConnector:
    return TableConnector({"dbo.People": rows(600)})  # one row per minute from T0


@pytest.fixture
def repo(source: TableConnector, dataset: Dataset) -> MemoryRepository:
    return MemoryRepository(source, dataset)


@pytest.fixture
def leases() -> InMemoryLeaseStore:
    return InMemoryLeaseStore()


@pytest.fixture
def runner(repo: MemoryRepository, leases: InMemoryLeaseStore) -> Runner:
    return Runner(repo, leases, holder="worker-1", retry=RETRY, heartbeat_ttl=1.0)


@pytest.fixture
def executor(runner: Runner) -> Iterator[LocalExecutor]:
    pool = LocalExecutor(runner, workers=2)
    yield pool
    pool.shutdown(wait=True, timeout=WAIT, cancel_running=True)


def minute(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def test_scheduled_incremental_runs_copy_exactly_the_new_rows(
    repo: MemoryRepository, executor: LocalExecutor, source: TableConnector, dataset: Dataset
) -> None:
    hourly = Schedule(int(minute(120).timestamp()), Frequency.HOUR, 1, backfill=True)
    now = minute(300)  # due grid points: 120, 180, 240, 300
    plan = plan_runs([FlowSchedule(FLOW, hourly, repo.watermark)], now=now)
    assert [p.window for p in plan] == [Window(None, minute(300))]
    repo.add(new_run("r1", plan[0].copy_window))
    assert executor.submit("r1")
    assert repo.wait_final("r1").status is RunStatus.SUCCESS
    assert ids_in(dataset) == list(range(300))
    assert repo.watermark == minute(300)
    # rows keep arriving; an hour later the next run copies exactly the new window
    source.tables["dbo.People"] = rows(700)
    plan = plan_runs([FlowSchedule(FLOW, hourly, repo.watermark)], now=minute(365))
    assert [p.window for p in plan] == [Window(minute(300), minute(360))]
    repo.add(new_run("r2", plan[0].copy_window))
    executor.submit("r2")
    run = repo.wait_final("r2")
    assert run.status is RunStatus.SUCCESS and run.counts.output_records == 60
    assert ids_in(dataset) == list(range(360))
    assert plan_runs([FlowSchedule(FLOW, hourly, repo.watermark)], now=minute(365)) == []


def test_a_repeated_or_concurrent_delivery_runs_once(
    repo: MemoryRepository, runner: Runner, source: TableConnector, dataset: Dataset
) -> None:
    repo.add(new_run("r1", Window(None, minute(600))))
    threads = [threading.Thread(target=runner, args=("r1", CancelEvent())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    runner("r1", CancelEvent())  # and once more, late
    assert repo.status("r1") is RunStatus.SUCCESS
    assert source.reads == 1 and repo.finished == ["r1"]
    assert ids_in(dataset) == list(range(600))


def started_by_a_dead_worker(repo: MemoryRepository, leases: InMemoryLeaseStore) -> Run:
    """Run r1, claimed and started by a worker whose process then died (its lease lapses)."""
    run = new_run("r1", Window(None, minute(600)))
    assert leases.acquire(run_lease_name("r1"), "dead-worker", ttl=0.3) is not None
    run.start(datetime.now(UTC))
    repo.add(run)
    return run


def test_a_run_of_a_dead_worker_is_picked_up_again(
    repo: MemoryRepository,
    runner: Runner,
    leases: InMemoryLeaseStore,
    executor: LocalExecutor,
    dataset: Dataset,
) -> None:
    started_by_a_dead_worker(repo, leases)
    assert runner.recover() == []  # its lease is still live
    time.sleep(0.4)
    assert runner.recover() == ["r1"]
    assert repo.status("r1") is RunStatus.SCHEDULED
    executor.submit("r1")
    done = repo.wait_final("r1")
    assert done.status is RunStatus.SUCCESS and done.attempt == 2
    assert ids_in(dataset) == list(range(600))


def test_a_crash_between_commit_and_finish_is_not_copied_twice(
    repo: MemoryRepository,
    runner: Runner,
    leases: InMemoryLeaseStore,
    executor: LocalExecutor,
    source: TableConnector,
    dataset: Dataset,
) -> None:
    run = started_by_a_dead_worker(repo, leases)
    # the dead worker got as far as the Delta commit, not as far as recording it
    committed = run_from_record(run_to_record(run))
    run_copy(
        committed,
        CopyJob(flow_id=FLOW, table="dbo.People"),
        connector=source,
        dataset=dataset,
        cancel=CancelEvent(),
        retry=RETRY,
        clock=lambda: datetime.now(UTC),
    )
    assert repo.status("r1") is RunStatus.IN_PROGRESS and repo.watermark is None
    time.sleep(0.4)
    for run_id in runner.recover():
        executor.submit(run_id)
    done = repo.wait_final("r1")
    assert done.status is RunStatus.SUCCESS and done.batch_id == committed.batch_id
    assert repo.watermark == minute(600)
    assert ids_in(dataset) == list(range(600))  # no duplicates
    assert source.reads == 1


def test_cancel_through_the_executor(
    repo: MemoryRepository, executor: LocalExecutor, source: TableConnector, dataset: Dataset
) -> None:
    source.between_batches = threading.Event()
    repo.add(new_run("r1", Window(None, minute(600))))
    executor.submit("r1")
    assert source.paused.wait(WAIT)
    assert executor.cancel("r1")
    source.between_batches.set()
    assert repo.wait_final("r1").status is RunStatus.CANCELLED
    assert not dataset.exists()


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (
            SourceConfigError("the source connection src was deleted"),
            SOURCE_ERROR_CODE,
            "was deleted",
        ),
        (RuntimeError("Password=hunter2"), LOAD_ERROR_CODE, "unexpected RuntimeError"),
    ],
)
def test_a_context_failure_fails_the_run(
    repo: MemoryRepository, runner: Runner, error: Exception, code: str, message: str
) -> None:
    repo.context_error = error
    repo.add(new_run("r1", Window(None, minute(600))))
    runner("r1", CancelEvent())
    run = repo.load("r1")
    assert run.status is RunStatus.FAILED
    assert run.errors[0].code == code
    assert message in run.errors[0].message
    assert "hunter2" not in run.errors[0].message


def test_a_worker_that_loses_its_lease_records_nothing(
    repo: MemoryRepository, source: TableConnector, dataset: Dataset
) -> None:
    offset = [0.0]
    leases = InMemoryLeaseStore(clock=lambda: time.time() + offset[0])
    runner = Runner(repo, leases, holder="slow-worker", retry=RETRY, heartbeat_ttl=0.6)
    source.between_batches = threading.Event()
    repo.add(new_run("r1", Window(None, minute(600))))
    worker = threading.Thread(target=runner, args=("r1", CancelEvent()))
    worker.start()
    assert source.paused.wait(WAIT)
    offset[0] = 10.0  # the worker stalls past its ttl, and recovery takes the run over
    assert leases.acquire(run_lease_name("r1"), "recovery", ttl=60) is not None
    time.sleep(0.5)  # the next heartbeat finds the lease lost
    source.between_batches.set()
    worker.join(WAIT)
    assert repo.status("r1") is RunStatus.IN_PROGRESS  # left for the new owner
    assert repo.finished == []
    assert not dataset.exists()
