"""The runner: the one handler every executor calls, and recovery of orphaned runs.

Persistence goes through ``RunRepository`` (implemented over the metadata
store); this module only orders the steps: claim the run under its heartbeat
lease, start it, copy, and finish it (run status and watermark together).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from flowservice.connectors.base import Connector
from flowservice.errors import Conflict, ConnectorError
from flowservice.flows import run_log
from flowservice.flows.cancellation import CancelEvent, CancelSignal
from flowservice.flows.copy_modes import TableReader
from flowservice.flows.lease import Heartbeat, LeaseStore, orphaned_runs, run_lease_name
from flowservice.flows.retry import RetryPolicy
from flowservice.flows.run_copy import BatchMapper, CopyJob, run_copy
from flowservice.flows.run_progress import LiveProgress, ProgressReporter, ProgressSnapshot
from flowservice.flows.run_state import Run, RunError, RunStatus, Stage
from flowservice.lake import Dataset

log = logging.getLogger(__name__)


@dataclass
class CopyContext:
    """Everything a run's copy needs, resolved from its flow and connections."""

    job: CopyJob
    connector: Connector
    dataset: Dataset
    mapper: BatchMapper | None = None
    secrets: Sequence[str] = field(default_factory=tuple)


class RunRepository(Protocol):
    """What the runner needs from the metadata store."""

    def load(self, run_id: str) -> Run: ...

    def save(self, run: Run) -> None: ...

    def finish(self, run: Run, *, watermark: datetime | None) -> None:
        """Save the finished run and, if given, move its flow's watermark: one transaction.

        A failed scheduled run (``window_attempt`` set) also goes through the failure
        policy there, and ``run.window_attempt`` says what comes next.
        """
        ...

    def save_progress(self, run: Run, live: ProgressSnapshot) -> None:
        """Best effort: show a running attempt's live counts (``run`` as it was started)."""
        ...

    def copy_context(self, run: Run) -> CopyContext: ...

    def in_progress(self) -> list[str]:
        """Ids of runs whose status is ``inProgress``."""
        ...


class _EitherSignal:
    """Cancelled when the user cancels or when the heartbeat lease is lost."""

    def __init__(self, first: CancelSignal, second: CancelSignal) -> None:
        self._signals = (first, second)

    def is_cancelled(self) -> bool:
        return any(s.is_cancelled() for s in self._signals)

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.is_cancelled():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._signals[1].wait(min(remaining, 0.05))
        return True


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runner:
    """``runner(run_id, cancel)`` executes one run; safe to call twice for the same run."""

    def __init__(
        self,
        repo: RunRepository,
        leases: LeaseStore,
        *,
        holder: str,
        retry: RetryPolicy | None = None,
        heartbeat_ttl: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
        reader: Callable[[Connector], TableReader] | None = None,
        progress_interval: float = 2.0,
    ) -> None:
        """``reader`` wraps each run's connector (e.g. to read in child processes); None reads
        with the connector itself, in the run's thread."""
        self.repo, self.leases, self.holder = repo, leases, holder
        self.reader = reader
        self.retry = retry or RetryPolicy()
        self.heartbeat_ttl = heartbeat_ttl
        self.clock = clock
        self.progress_interval = progress_interval

    def __call__(self, run_id: str, cancel: CancelSignal) -> None:
        lost = CancelEvent()
        try:
            with Heartbeat(
                self.leases, run_id, self.holder, ttl=self.heartbeat_ttl, on_lost=lost.cancel
            ):
                self._execute(run_id, _EitherSignal(cancel, lost), lost)
        except Conflict:
            log.info("run %s is held by another worker; skipped", run_id)

    def _execute(self, run_id: str, cancel: CancelSignal, lost: CancelSignal) -> None:
        run = self.repo.load(run_id)
        if run.status is not RunStatus.SCHEDULED:
            return  # a repeated delivery, or cancelled while queued
        run.start(self.clock())
        self.repo.save(run)
        run_log.started(run)
        try:
            ctx = self.repo.copy_context(run)
        except Exception as exc:
            # without this the run would be requeued by recovery and fail the same way forever
            stage = Stage.COPY if isinstance(exc, ConnectorError) else Stage.LOAD
            run.fail(RunError.from_exception(exc, stage=stage), self.clock())
            self._finish(run, watermark=None)
            return
        source = ctx.connector if self.reader is None else self.reader(ctx.connector)
        live = LiveProgress()
        with ProgressReporter(
            live,
            lambda now: self.repo.save_progress(run, now),
            interval=self.progress_interval,
            name=f"progress-{run_id}",
        ):
            outcome = run_copy(
                run,
                ctx.job,
                connector=source,
                dataset=ctx.dataset,
                mapper=ctx.mapper,
                cancel=cancel,
                retry=self.retry,
                clock=self.clock,
                secrets=ctx.secrets,
                progress=live,
            )
        if lost.is_cancelled():
            # another process has requeued the run; what we did is not ours to record
            log.warning("run %s: heartbeat lease lost while running; result discarded", run_id)
            return
        watermark = outcome.watermark
        if watermark is None and outcome.status is RunStatus.SUCCESS:
            watermark = run.schedule_end  # a full snapshot: the schedule position moves on
        self._finish(run, watermark=watermark)

    def _finish(self, run: Run, *, watermark: datetime | None) -> None:
        try:
            self.repo.finish(run, watermark=watermark)
        except Conflict:
            # the heartbeat lapsed (a stalled process) and recovery requeued this attempt
            # before the heartbeat thread noticed: the requeued attempt is the one that counts
            log.warning("run %s: requeued while running; result discarded", run.id)
            return
        run_log.finished(run)

    def recover(self) -> list[str]:
        """Requeue ``inProgress`` runs whose worker died; returns their ids to submit again."""
        requeued = []
        for run_id in orphaned_runs(self.leases, self.repo.in_progress()):
            lease = self.leases.acquire(run_lease_name(run_id), self.holder, self.heartbeat_ttl)
            if lease is None:
                continue  # another process is recovering it (or it just came back)
            try:
                run = self.repo.load(run_id)
                if run.status is RunStatus.IN_PROGRESS:
                    run.requeue(self.clock())
                    self.repo.save(run)
                    run_log.requeued(run)
                    requeued.append(run_id)
            finally:
                self.leases.release(lease)
        return requeued
