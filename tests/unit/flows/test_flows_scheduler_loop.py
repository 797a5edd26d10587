"""Two scheduler loops ("processes") sharing one lease store and one repository."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flows_testing_repository import WAIT, MemoryRepository
from flows_testing_source import T0, TableConnector, rows

from flowservice.flows.executors.local import LocalExecutor
from flowservice.flows.lease import InMemoryLeaseStore, Leadership
from flowservice.flows.retry import RetryPolicy
from flowservice.flows.run_state import RunStatus
from flowservice.flows.runner import Runner
from flowservice.flows.schedule import Frequency, Schedule
from flowservice.flows.scheduler_loop import SchedulerLoop
from flowservice.lake import Dataset, LakeLocation

HOURLY = Schedule(int((T0 + timedelta(minutes=120)).timestamp()), Frequency.HOUR, 1, backfill=True)


def minute(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


@dataclass
class Process:
    loop: SchedulerLoop
    executor: LocalExecutor


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def repo(tmp_path: Path) -> MemoryRepository:
    source = TableConnector({"dbo.People": rows(600)})
    return MemoryRepository(source, Dataset.create(LakeLocation.local(tmp_path / "p")), HOURLY)


@pytest.fixture
def clock() -> Clock:
    return Clock(minute(300))


@pytest.fixture
def processes(repo: MemoryRepository, clock: Clock) -> Iterator[list[Process]]:
    leases = InMemoryLeaseStore()
    made = []
    for name in ("a", "b"):
        runner = Runner(
            repo, leases, holder=name, retry=RetryPolicy(2, 0.01, 0.02), heartbeat_ttl=1
        )
        executor = LocalExecutor(runner, workers=2)
        leadership = Leadership(leases, name, ttl=0.5)
        made.append(
            Process(
                SchedulerLoop(repo, runner, executor, leadership, clock=clock, interval=0.05),
                executor,
            )
        )
    yield made
    for process in made:
        process.loop.stop(timeout=WAIT)
        process.executor.shutdown(timeout=WAIT)


def ids_in(dataset: Dataset) -> list[int]:
    source = dataset.to_pyarrow_dataset()
    return [] if source is None else sorted(source.to_table(columns=["Id"])["Id"].to_pylist())


def test_only_the_leader_schedules_and_each_window_runs_once(
    repo: MemoryRepository, processes: list[Process], clock: Clock
) -> None:
    a, b = processes
    assert a.loop.tick() == ["run-1"]
    assert b.loop.tick() == []  # not the leader
    assert a.loop.tick() == []  # run-1 is active: nothing new
    assert repo.wait_final("run-1").status is RunStatus.SUCCESS
    assert repo.watermark == minute(300)
    clock.now = minute(365)
    assert b.loop.tick() == []
    assert a.loop.tick() == ["run-2"]
    assert repo.wait_final("run-2").window is not None
    assert ids_in(repo.dataset) == list(range(360))
    assert sorted(repo.records) == ["run-1", "run-2"]


def test_leadership_fails_over_when_the_leader_dies(
    repo: MemoryRepository, processes: list[Process], clock: Clock
) -> None:
    a, b = processes
    assert a.loop.tick() == ["run-1"]
    repo.wait_final("run-1")
    # "a" dies: it stops ticking and its lease runs out
    clock.now = minute(365)
    assert b.loop.tick() == []
    time.sleep(0.6)
    assert b.loop.tick() == ["run-2"]
    assert repo.wait_final("run-2").status is RunStatus.SUCCESS
    assert ids_in(repo.dataset) == list(range(360))


def test_the_loop_thread_runs_everything_due(
    repo: MemoryRepository, processes: list[Process]
) -> None:
    for process in processes:
        process.loop.start()
    assert repo.wait_final("run-1").status is RunStatus.SUCCESS
    time.sleep(0.3)  # more ticks: nothing else is due
    assert sorted(repo.records) == ["run-1"]
    assert ids_in(repo.dataset) == list(range(300))


def test_snapshot_flows_run_once_per_grid_point(
    repo: MemoryRepository, processes: list[Process], clock: Clock
) -> None:
    repo.incremental = False
    a, _ = processes
    assert a.loop.tick() == ["run-1"]
    first = repo.wait_final("run-1")
    assert first.status is RunStatus.SUCCESS and first.window is None
    assert repo.watermark == minute(300)  # the schedule position moved
    assert a.loop.tick() == []
    clock.now = minute(365)
    assert a.loop.tick() == ["run-2"]
    repo.wait_final("run-2")
    assert ids_in(repo.dataset) == list(range(600))  # replaced, not appended
