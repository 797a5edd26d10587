"""The run model: status transitions, metrics, activities, errors and partial ingestion.

A run moves ``scheduled → inProgress → success | failed | cancelled``. A run
whose worker died (its heartbeat lease expired) goes back from ``inProgress``
to ``scheduled``; a ``failed`` or ``cancelled`` run goes back to ``scheduled``
when re-triggered. ``success`` is final: its window is committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flowservice.errors import Conflict, ConnectorError, FlowServiceError, InternalError
from flowservice.flows.change_range import ChangeRange
from flowservice.flows.failure_policy import WindowAttempt
from flowservice.flows.schedule import Window
from flowservice.secrets import redact

SOURCE_ERROR_CODE = "CONNECTOR-1001-500"  # failure copying from the source
LOAD_ERROR_CODE = "CONNECTOR-2001-500"  # failure processing into the lake
MAX_ERROR_SAMPLES = 100
MAX_REASON_CHARS = 500
RUN_STATE_CONFLICT = 1416  # update only in an allowed state


class RunStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "inProgress"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"


ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.SCHEDULED: frozenset({RunStatus.IN_PROGRESS, RunStatus.CANCELLED}),
    RunStatus.IN_PROGRESS: frozenset(
        {RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SCHEDULED}
    ),
    RunStatus.FAILED: frozenset({RunStatus.SCHEDULED}),
    RunStatus.CANCELLED: frozenset({RunStatus.SCHEDULED}),
    RunStatus.SUCCESS: frozenset(),
}
FINAL = frozenset({RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED})


class Stage(StrEnum):
    """Where a run failed: reading the source, or mapping/writing into the lake."""

    COPY = "copy"
    LOAD = "load"


@dataclass(frozen=True)
class RunError:
    """One entry of ``statusSummary.errors``; the message is secret-free."""

    code: str
    message: str

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, stage: Stage, secrets: Iterable[str] = ()
    ) -> RunError:
        """The run error for ``exc``; connector errors always count as source failures."""
        source = stage is Stage.COPY or isinstance(exc, ConnectorError)
        code = SOURCE_ERROR_CODE if source else LOAD_ERROR_CODE
        prefix = "Failed to copy from the source" if source else "Failed to load into the dataset"
        if isinstance(exc, FlowServiceError):
            detail = redact(exc.message, secrets)
        else:
            # foreign exceptions may quote anything (connection strings included): name only
            detail = f"unexpected {type(exc).__name__}"
        return cls(code=code, message=f"{prefix}: {detail}")


@dataclass(frozen=True)
class ErrorSample:
    """A record that failed mapping or casting: where, and why (never its values)."""

    row: int
    reason: str
    column: str | None = None


def partial_ingestion_error(
    *, input_records: int, failed_records: int, percent: float | None
) -> RunError | None:
    """None if the run may succeed with these failed records, else the error that fails it.

    Without ``partialIngestionPercent`` any failed record fails the run; with
    it the run succeeds while failed/input (as a percentage) is at most the
    threshold.
    """
    if failed_records <= 0:
        return None
    share = 100.0 if input_records <= 0 else failed_records * 100.0 / input_records
    if percent is not None and share <= percent:
        return None
    limit = "partial ingestion is not enabled" if percent is None else f"the limit is {percent:g}%"
    return RunError(
        code=LOAD_ERROR_CODE,
        message=(
            f"{failed_records} of {input_records} records ({share:.2f}%) failed mapping or "
            f"casting and {limit}; nothing was committed"
        ),
    )


@dataclass
class RecordCounts:
    input_records: int = 0
    output_records: int = 0
    failed_records: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    input_files: int = 0
    output_files: int = 0
    # rows a merge inserted, updated and deleted in the dataset (None: the run did not merge)
    created_records: int | None = None
    updated_records: int | None = None
    deleted_records: int | None = None


@dataclass
class Run:
    """One run of a flow: what it copies, where it stands, what it measured."""

    id: str
    flow_id: str
    flow_spec_id: str
    flow_spec_version: str
    created_at: datetime
    source_connection_ids: list[str] = field(default_factory=list)
    target_connection_ids: list[str] = field(default_factory=list)
    # None: a full snapshot; otherwise the half-open UTC window of the delta column
    window: Window | None = None
    delta_column: str | None = None
    # the schedule grid point a scheduled run was planned for: after success the
    # flow's schedule position moves there (full snapshots have no window to say it)
    schedule_end: datetime | None = None
    # scheduled runs: which run of its window this is (on-demand runs: None)
    window_attempt: WindowAttempt | None = None
    # cdcEnabled flows: the Change Tracking versions this run copies (or its snapshot)
    changes: ChangeRange | None = None
    status: RunStatus = RunStatus.SCHEDULED
    updated_at: datetime | None = None
    attempt: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    copy_started_at: datetime | None = None
    copy_completed_at: datetime | None = None
    copy_status: RunStatus | None = None
    promotion_started_at: datetime | None = None
    promotion_completed_at: datetime | None = None
    promotion_status: RunStatus | None = None
    batch_id: str | None = None
    counts: RecordCounts = field(default_factory=RecordCounts)
    errors: list[RunError] = field(default_factory=list)
    error_samples: list[ErrorSample] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at

    # --- transitions ---------------------------------------------------------

    def start(self, now: datetime) -> None:
        """A worker picked the run up: a new attempt with fresh metrics."""
        self._move(RunStatus.IN_PROGRESS, now)
        self.attempt += 1
        self._reset_progress()
        self.started_at = now
        self.copy_started_at = now
        self.copy_status = RunStatus.IN_PROGRESS

    def copy_finished(self, now: datetime) -> None:
        self._require(RunStatus.IN_PROGRESS, "finish copying")
        self.copy_completed_at = now
        self.copy_status = RunStatus.SUCCESS
        self.updated_at = now

    def promotion_started(self, now: datetime) -> None:
        self._require(RunStatus.IN_PROGRESS, "start promotion")
        self.promotion_started_at = now
        self.promotion_status = RunStatus.IN_PROGRESS
        self.updated_at = now

    def succeed(self, now: datetime, *, batch_id: str | None) -> None:
        """The Delta commit is done (``batch_id`` None if there was nothing to commit)."""
        self._move(RunStatus.SUCCESS, now)
        self.batch_id = batch_id
        self.completed_at = now
        if self.copy_status is RunStatus.IN_PROGRESS:
            self.copy_status = RunStatus.SUCCESS
            self.copy_completed_at = now
        self.promotion_started_at = self.promotion_started_at or now
        self.promotion_completed_at = now
        self.promotion_status = RunStatus.SUCCESS

    def fail(self, error: RunError, now: datetime) -> None:
        self._move(RunStatus.FAILED, now)
        self.errors.append(error)
        self.completed_at = now
        if self.copy_status is RunStatus.IN_PROGRESS:
            self.copy_status = RunStatus.FAILED
            self.copy_completed_at = now
        if self.promotion_status is RunStatus.IN_PROGRESS:
            self.promotion_status = RunStatus.FAILED
            self.promotion_completed_at = now

    def cancel(self, now: datetime) -> None:
        self._move(RunStatus.CANCELLED, now)
        self.completed_at = now
        if self.copy_status is RunStatus.IN_PROGRESS:
            self.copy_status = RunStatus.CANCELLED
            self.copy_completed_at = now
        if self.promotion_status is RunStatus.IN_PROGRESS:
            self.promotion_status = RunStatus.CANCELLED
            self.promotion_completed_at = now

    def requeue(self, now: datetime) -> None:
        """The worker's heartbeat lease expired: run it again (nothing was committed)."""
        if self.status is not RunStatus.IN_PROGRESS:
            raise self._conflict("requeue")
        self._move(RunStatus.SCHEDULED, now)
        self._reset_progress()

    def retrigger(self, now: datetime) -> None:
        """``op=re-trigger`` on a failed or cancelled run: same window, fresh metrics."""
        if self.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise self._conflict("re-trigger")
        self._move(RunStatus.SCHEDULED, now)
        self._reset_progress()
        self.errors = []
        # a run started by hand: the failure policy no longer retries its window
        self.window_attempt = None

    # --- metrics ------------------------------------------------------------

    def add_read(self, *, records: int, size_bytes: int, files: int = 0) -> None:
        self.counts.input_records += records
        self.counts.input_bytes += size_bytes
        self.counts.input_files += files

    def add_written(self, *, records: int, size_bytes: int, files: int = 0) -> None:
        self.counts.output_records += records
        self.counts.output_bytes += size_bytes
        self.counts.output_files += files

    def add_merged(self, *, created: int, updated: int, deleted: int) -> None:
        self.counts.created_records = (self.counts.created_records or 0) + created
        self.counts.updated_records = (self.counts.updated_records or 0) + updated
        self.counts.deleted_records = (self.counts.deleted_records or 0) + deleted

    def add_failed(self, count: int, samples: Iterable[ErrorSample] = ()) -> None:
        """Count records that failed mapping or casting, keeping the first samples."""
        self.counts.failed_records += count
        room = MAX_ERROR_SAMPLES - len(self.error_samples)
        for sample in samples:
            if room <= 0:
                break
            reason = redact(sample.reason)[:MAX_REASON_CHARS]
            self.error_samples.append(ErrorSample(sample.row, reason, sample.column))
            room -= 1

    # --- helpers ------------------------------------------------------------

    def _move(self, target: RunStatus, now: datetime) -> None:
        if target not in ALLOWED_TRANSITIONS[self.status]:
            raise self._conflict(f"move to {target}")
        if now.tzinfo is None:
            raise InternalError("run times must be timezone-aware")
        self.status = target
        self.updated_at = now

    def _require(self, status: RunStatus, what: str) -> None:
        if self.status is not status:
            raise self._conflict(what)

    def _conflict(self, what: str) -> Conflict:
        return Conflict(
            f"run {self.id} is {self.status}; cannot {what}",
            code=RUN_STATE_CONFLICT,
            resource_type="runs",
            resource_id=self.id,
        )

    def _reset_progress(self) -> None:
        self.counts = RecordCounts()
        self.error_samples = []
        self.completed_at = None
        self.copy_started_at = self.copy_completed_at = None
        self.copy_status = None
        self.promotion_started_at = self.promotion_completed_at = None
        self.promotion_status = None
        self.batch_id = None
        self.changes = None
