"""The scheduler loop: every tick the leader recovers orphans, plans due runs and submits them.

Every server process runs a loop; only the holder of the ``scheduler`` lease
acts on a tick, so runs are planned exactly once however many processes share
the database. With the local executor the leader also executes the runs; with
a distributed executor it only submits them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from flowservice.flows.executors.base import Executor
from flowservice.flows.failure_policy import FailurePolicy
from flowservice.flows.lease import Leadership
from flowservice.flows.runner import Runner, utc_now
from flowservice.flows.schedule import CatchUp
from flowservice.flows.scheduler import FlowSchedule, PlannedRun, plan_runs

log = logging.getLogger(__name__)


class ScheduleRepository(Protocol):
    """What the loop needs from the metadata store."""

    def flow_schedules(self) -> list[FlowSchedule]:
        """Every flow with its schedule, watermark, state and whether it has an active run."""
        ...

    def create_run(self, planned: PlannedRun, *, now: datetime) -> str:
        """Create the planned run as ``scheduled``; returns its id."""
        ...

    def runs_to_submit(self, *, now: datetime) -> list[str]:
        """``scheduled`` runs whose start time has come (on-demand ones included)."""
        ...


class SchedulerLoop:
    """Ticks every ``interval`` seconds in a daemon thread (or call ``tick`` directly)."""

    def __init__(
        self,
        repo: ScheduleRepository,
        runner: Runner,
        executor: Executor,
        leadership: Leadership,
        *,
        interval: float = 5.0,
        catch_up: CatchUp = CatchUp.COALESCE,
        failure_policy: FailurePolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        on_lead: Callable[[], object] | None = None,
    ) -> None:
        """``on_lead`` is called on each tick this process leads (e.g. the delay alert)."""
        self.repo, self.runner, self.executor, self.leadership = repo, runner, executor, leadership
        self.interval, self.catch_up, self.clock = interval, catch_up, clock
        self.failure_policy = failure_policy or FailurePolicy()
        self.on_lead = on_lead
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """One round; returns the run ids newly submitted to the executor."""
        if not self.leadership.ensure():
            return []
        self.runner.recover()  # requeued runs are ``scheduled`` again: submitted below
        if self.on_lead is not None:
            try:
                self.on_lead()
            except Exception as exc:
                log.error("scheduler leader hook failed: %s", type(exc).__name__)
        now = self.clock()
        flows = self.repo.flow_schedules()
        for planned in plan_runs(
            flows, now=now, catch_up=self.catch_up, policy=self.failure_policy
        ):
            try:
                self.repo.create_run(planned, now=now)
            except Exception as exc:
                # one flow whose run cannot be created must not keep the others waiting
                log.error("flow %s: run not created: %s", planned.flow_id, type(exc).__name__)
        return [rid for rid in self.repo.runs_to_submit(now=now) if self.executor.submit(rid)]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="flow-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.leadership.resign()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:
                # keep scheduling: a failing tick (database briefly away) is retried next tick
                log.error("scheduler tick failed: %s", type(exc).__name__)
            self._stop.wait(self.interval)
