"""One attempt at a run's copy: source batches → mapping → one Delta commit, with metrics.

The caller (the runner) has claimed the run (``start`` under its heartbeat
lease) and afterwards persists the run and, for a successful incremental run,
advances the flow's watermark to ``CopyOutcome.watermark``. Nothing becomes
visible in the dataset unless the whole window was read, mapped within the
partial-ingestion threshold and committed. The commit records the flow and
window, so a replayed window (a crash between commit and watermark update) is
recognised and not written twice. The source is read (and mapped) in a reader
thread a few batches ahead of the Delta writer, which encodes without the GIL,
so reading and writing overlap; the whole stream is still one commit.
"""

from __future__ import annotations

import functools
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from flowservice.connectors.base import ChangesExpired
from flowservice.errors import ConnectorError, FlowServiceError, LakeError, SourceSystemError
from flowservice.flows import copy_modes
from flowservice.flows.cancellation import CancelSignal, RunCancelled, raise_if_cancelled
from flowservice.flows.change_copy import (
    CHANGE_VERSION_KEY,
    RETENTION,
    committed_change_version,
    plan_changes,
)
from flowservice.flows.change_range import ChangeRange
from flowservice.flows.copy_modes import CopyMode, TableReader
from flowservice.flows.read_ahead import read_ahead
from flowservice.flows.retry import RetryPolicy, call_with_retry
from flowservice.flows.run_progress import LiveProgress
from flowservice.flows.run_state import (
    MAX_ERROR_SAMPLES,
    ErrorSample,
    Run,
    RunError,
    RunStatus,
    Stage,
    partial_ingestion_error,
)
from flowservice.flows.schedule import Window
from flowservice.lake import Dataset
from flowservice.lake.dataset import WriteResult
from flowservice.lake.failed_records import (
    FailedRowCollector,
    RowFailure,
    purge_expired,
    write_failed_records,
)
from flowservice.secrets import redact

log = logging.getLogger(__name__)

# Commit metadata keys (the lake namespaces them under "flowservice.")
FLOW_KEY, RUN_KEY, BATCH_KEY = "flowId", "runId", "batchId"
WINDOW_START_KEY, WINDOW_END_KEY = "windowStart", "windowEnd"
# batches read ahead of the Delta writer: bounds the extra memory to this many batches
READ_AHEAD_BATCHES = 4


class TooManyFailedRecords(LakeError):
    """More records failed mapping than the flow's partialIngestionPercent allows."""

    def __init__(self, error: RunError) -> None:
        super().__init__(error.message)
        self.run_error = error


class MappedRows(Protocol):
    @property
    def records(self) -> pa.RecordBatch: ...
    @property
    def error_mask(self) -> pa.Array: ...
    @property
    def failed_count(self) -> int: ...
    @property
    def errors(self) -> Sequence[RowFailure]: ...


class BatchMapper(Protocol):
    """What the runner needs of a mapping set (``flowservice.mapping.MappingSet``)."""

    def apply(self, batch: pa.RecordBatch, *, max_error_samples: int = ...) -> MappedRows: ...


@dataclass(frozen=True)
class CopyJob:
    """What to copy: the source table, its columns, the flow's delta column and threshold."""

    flow_id: str
    table: str
    columns: list[str] | None = None
    partial_ingestion_percent: float | None = None
    batch_rows: int = 32768
    mode: CopyMode = field(default_factory=CopyMode)
    # failed records older than this are purged when a run writes its own (None: never here)
    failed_records_retention_days: int | None = None


@dataclass(frozen=True)
class CopyOutcome:
    status: RunStatus
    batch_id: str | None = None
    # the new watermark after a successful incremental run (None otherwise)
    watermark: datetime | None = None
    replayed: bool = False


@dataclass
class _Attempt:
    input_records: int = 0
    input_bytes: int = 0
    failed: int = 0
    samples: list[ErrorSample] = field(default_factory=list)
    copy_done: datetime | None = None
    failed_rows: FailedRowCollector = field(default_factory=FailedRowCollector)
    secrets: tuple[str, ...] = ()
    progress: LiveProgress = field(default_factory=LiveProgress)


def run_copy(
    run: Run,
    job: CopyJob,
    *,
    connector: TableReader,
    dataset: Dataset,
    mapper: BatchMapper | None = None,
    cancel: CancelSignal,
    retry: RetryPolicy,
    clock: Callable[[], datetime],
    secrets: Iterable[str] = (),
    progress: LiveProgress | None = None,
) -> CopyOutcome:
    """Copy ``run.window`` (or a full snapshot) of ``job.table`` into ``dataset``; update ``run``.

    ``run`` must be ``inProgress``. Transient source errors restart the whole
    attempt (nothing is committed before the end). Never raises for run
    failures: they end up in ``run`` as ``failed``/``cancelled``. ``progress``
    follows the current attempt's rows while it runs.
    """
    live = progress if progress is not None else LiveProgress()
    window = run.window
    secret_values = list(secrets)
    if window is not None:
        try:
            bounds = window_metadata(window)
            replay = dataset.find_commit(
                flowId=job.flow_id,
                windowStart=bounds[WINDOW_START_KEY],
                windowEnd=bounds[WINDOW_END_KEY],
            )
        except Exception as exc:
            run.fail(RunError.from_exception(exc, stage=Stage.LOAD, secrets=secret_values), clock())
            return CopyOutcome(RunStatus.FAILED)
        if replay is not None:
            # this attempt reads and writes nothing: its metrics say so (the rows were
            # counted by the attempt that committed them)
            replayed = replay.metadata.get(BATCH_KEY)
            run.succeed(clock(), batch_id=replayed)
            return CopyOutcome(RunStatus.SUCCESS, replayed, window.end, replayed=True)
    changes: ChangeRange | None = None
    if job.mode.change_tracking:
        try:
            changes = _plan_changes(job, connector, dataset)
        except Exception as exc:
            stage = Stage.COPY if isinstance(exc, ConnectorError) else Stage.LOAD
            run.fail(RunError.from_exception(exc, stage=stage, secrets=secret_values), clock())
            return CopyOutcome(RunStatus.FAILED)
        run.changes = changes
        if changes.empty:
            run.succeed(clock(), batch_id=None)  # nothing changed since the last run
            return CopyOutcome(RunStatus.SUCCESS)
    batch_id = uuid.uuid4().hex.upper()
    metadata = {FLOW_KEY: job.flow_id, RUN_KEY: run.id, BATCH_KEY: batch_id}
    if window is not None:
        metadata.update(window_metadata(window))
    if changes is not None:
        metadata[CHANGE_VERSION_KEY] = str(changes.to_version)
    attempt = _Attempt()

    def one_attempt() -> WriteResult | None:
        nonlocal attempt
        attempt = _Attempt(secrets=tuple(secret_values), progress=live)
        live.restart()
        current, plan = attempt, changes
        # Source reads and mapping run in a reader thread, a few batches ahead of the writer.
        stream = read_ahead(
            lambda: _mapped_stream(run, job, connector, mapper, cancel, clock, current, plan),
            depth=READ_AHEAD_BATCHES,
        )
        replace = job.mode.replaces(windowed=window is not None, changes=plan)
        try:
            first = next(stream, None)
            if first is None and not (replace and dataset.exists()):
                return None  # nothing to commit: no rows, and no dataset to empty
            schema = first.schema if first is not None else dataset.arrow_schema()
            data = _counted(itertools.chain([first] if first is not None else [], stream), live)
            return copy_modes.write(
                dataset,
                pa.RecordBatchReader.from_batches(schema, data),
                mode=job.mode,
                replace=replace,
                metadata=metadata,
            )
        finally:
            stream.close()  # stops and joins the reader thread before ``attempt`` is read

    def attempt_or_snapshot() -> WriteResult | None:
        nonlocal changes
        try:
            return one_attempt()
        except ChangesExpired:
            if changes is None or changes.snapshot:
                raise
            # cleanup removed changes while they were read: copy the whole table instead
            changes = ChangeRange(None, changes.to_version, RETENTION)
            run.changes = changes
            return one_attempt()

    try:
        written = call_with_retry(attempt_or_snapshot, retry, cancel=cancel)
    except RunCancelled:
        _record_reads(run, attempt)
        run.cancel(clock())
        return CopyOutcome(RunStatus.CANCELLED)
    except TooManyFailedRecords as exc:
        _record_reads(run, attempt)
        run.fail(exc.run_error, clock())
        return CopyOutcome(RunStatus.FAILED)
    except Exception as exc:
        _record_reads(run, attempt)
        stage = Stage.COPY if isinstance(exc, ConnectorError) else Stage.LOAD
        run.fail(RunError.from_exception(exc, stage=stage, secrets=secret_values), clock())
        return CopyOutcome(RunStatus.FAILED)
    _record_reads(run, attempt)
    if attempt.copy_done is not None:
        run.copy_finished(attempt.copy_done)
        run.promotion_started(attempt.copy_done)
    if written is None:
        run.succeed(clock(), batch_id=None)
        return CopyOutcome(RunStatus.SUCCESS, None, window.end if window else None)
    run.add_written(records=written.record_count, size_bytes=written.size_bytes, files=1)
    if written.changes is not None:
        run.add_merged(
            created=written.changes.inserted,
            updated=written.changes.updated,
            deleted=written.changes.deleted,
        )
    if attempt.failed:
        _keep_failed_rows(job, dataset, batch_id, attempt, clock)
    run.succeed(clock(), batch_id=batch_id)
    return CopyOutcome(RunStatus.SUCCESS, batch_id, window.end if window else None)


def _plan_changes(job: CopyJob, connector: TableReader, dataset: Dataset) -> ChangeRange:
    tracked: copy_modes.ChangeReader = connector  # type: ignore[assignment]
    state = tracked.change_tracking(job.table)
    return plan_changes(
        job.table,
        last_version=committed_change_version(dataset, job.flow_id),
        current_version=state.current_version,
        min_valid_version=state.min_valid_version,
    )


def _mapped_stream(
    run: Run,
    job: CopyJob,
    connector: TableReader,
    mapper: BatchMapper | None,
    cancel: CancelSignal,
    clock: Callable[[], datetime],
    attempt: _Attempt,
    changes: ChangeRange | None,
) -> Iterator[pa.RecordBatch]:
    read_window = (
        run.window.read_window(run.delta_column)
        if run.window is not None and run.delta_column
        else None
    )
    source: Iterator[pa.RecordBatch] | None = None
    while True:
        raise_if_cancelled(cancel, run.id)
        try:
            if source is None:
                source = copy_modes.source_batches(
                    connector,
                    job.table,
                    columns=job.columns,
                    window=read_window,
                    batch_rows=job.batch_rows,
                    mode=job.mode,
                    changes=changes,
                )
            batch = next(source, None)
        except FlowServiceError:
            raise
        except Exception as exc:
            # a connector bug still fails the run as a source failure, without its text
            raise SourceSystemError(
                f"the source read failed unexpectedly ({type(exc).__name__})"
            ) from exc
        if batch is None:
            break
        offset = attempt.input_records
        attempt.input_records += batch.num_rows
        attempt.input_bytes += batch.nbytes
        if mapper is None:
            attempt.progress.read(records=attempt.input_records, failed=0)
            yield batch
            continue
        # reasons for every failed row the download keeps (only failed rows cost anything)
        mapped = mapper.apply(
            batch, max_error_samples=max(MAX_ERROR_SAMPLES, attempt.failed_rows.room)
        )
        attempt.failed += mapped.failed_count
        attempt.progress.read(records=attempt.input_records, failed=attempt.failed)
        if mapped.failed_count:
            attempt.failed_rows.add(
                batch,
                mapped.error_mask,
                mapped.errors,
                offset=offset,
                redact=functools.partial(redact, secrets=attempt.secrets),
            )
        room = MAX_ERROR_SAMPLES - len(attempt.samples)
        for err in mapped.errors[: max(room, 0)]:
            attempt.samples.append(ErrorSample(offset + err.row, err.reason, err.destination))
        yield mapped.records
    error = partial_ingestion_error(
        input_records=attempt.input_records,
        failed_records=attempt.failed,
        percent=job.partial_ingestion_percent,
    )
    if error is not None:
        raise TooManyFailedRecords(error)
    attempt.copy_done = clock()


def _keep_failed_rows(
    job: CopyJob,
    dataset: Dataset,
    batch_id: str,
    attempt: _Attempt,
    clock: Callable[[], datetime],
) -> None:
    """Write the batch's failed rows beside the dataset; the commit stands if this fails."""
    now_ms = int(clock().timestamp() * 1000)
    try:
        write_failed_records(
            dataset.location,
            batch_id,
            attempt.failed_rows.lines,
            failed_count=attempt.failed,
            input_count=attempt.input_records,
            table=job.table,
            created_ms=now_ms,
        )
        if job.failed_records_retention_days is not None:
            purge_expired(
                dataset.location, now_ms=now_ms, retention_days=job.failed_records_retention_days
            )
    except Exception as exc:
        log.warning("batch %s: failed records not kept (%s)", batch_id, type(exc).__name__)


def _counted(batches: Iterable[pa.RecordBatch], live: LiveProgress) -> Iterator[pa.RecordBatch]:
    """The batches, counted as written as the writer takes them."""
    for batch in batches:
        live.wrote(batch.num_rows)
        yield batch


def _record_reads(run: Run, attempt: _Attempt) -> None:
    run.add_read(records=attempt.input_records, size_bytes=attempt.input_bytes)
    run.add_failed(attempt.failed, attempt.samples)


def committed_watermark(dataset: Dataset, flow_id: str) -> datetime | None:
    """The end of the newest window the lake holds for this flow (the watermark's ground truth)."""
    batch = dataset.find_commit(flowId=flow_id)
    if batch is None or not batch.metadata.get(WINDOW_END_KEY):
        return None
    return datetime.fromisoformat(batch.metadata[WINDOW_END_KEY])


def window_metadata(window: Window) -> dict[str, str]:
    """Exact window bounds as commit metadata ("" for the beginning of history)."""
    return {
        WINDOW_START_KEY: "" if window.start is None else window.start.isoformat(),
        WINDOW_END_KEY: window.end.isoformat(),
    }
