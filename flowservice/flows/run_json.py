"""A run as the API shows it (documented JSON shape) and as the store keeps it (a record)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flowservice.flows.change_range import ChangeRange
from flowservice.flows.failure_policy import WindowAttempt
from flowservice.flows.run_state import (
    ErrorSample,
    RecordCounts,
    Run,
    RunError,
    RunStatus,
)
from flowservice.flows.schedule import EPOCH, Window, to_epoch_ms

RECORD_VERSION = 1


def run_to_json(
    run: Run,
    *,
    etag: str,
    sandbox_name: str,
    ims_org_id: str,
    error_diagnostics: bool = True,
) -> dict[str, Any]:
    """The run object of ``GET /runs/{id}`` (one item of its ``items``)."""
    counts = run.counts
    status_summary: dict[str, Any] = {"status": str(run.status)}
    if run.errors:
        status_summary["errors"] = [{"code": e.code, "message": e.message} for e in run.errors]
    extensions: dict[str, Any] = {}
    if error_diagnostics and run.error_samples:
        extensions["errorSamples"] = [_sample_json(s) for s in run.error_samples]
    if run.changes is not None:
        extensions["changeTracking"] = _changes_json(run.changes)
    if extensions:
        status_summary["extensions"] = extensions
    activities = [_copy_activity(run)]
    if run.promotion_status is not None:
        activities.append(_promotion_activity(run))
    return {
        "id": run.id,
        "createdAt": _ms(run.created_at),
        "updatedAt": _ms(run.updated_at or run.created_at),
        "sandboxName": sandbox_name,
        "imsOrgId": ims_org_id,
        "flowId": run.flow_id,
        "flowSpec": {"id": run.flow_spec_id, "version": run.flow_spec_version},
        "etag": etag,
        "metrics": {
            "durationSummary": _duration(run.started_at, run.completed_at),
            "sizeSummary": {"inputBytes": counts.input_bytes, "outputBytes": counts.output_bytes},
            "recordSummary": _record_summary(counts),
            "fileSummary": {
                "inputFileCount": counts.input_files,
                "outputFileCount": counts.output_files,
            },
            "statusSummary": status_summary,
        },
        "activities": activities,
    }


def _copy_activity(run: Run) -> dict[str, Any]:
    counts = run.counts
    duration = _duration(run.copy_started_at, run.copy_completed_at)
    if run.window is not None:
        duration["extensions"] = {
            "windowStart": run.window.start_ms,
            "windowEnd": run.window.end_ms,
        }
    return {
        "id": "copyActivity",
        "durationSummary": duration,
        "sizeSummary": {"inputBytes": counts.input_bytes, "outputBytes": counts.output_bytes},
        "recordSummary": _record_summary(counts),
        "statusSummary": _copy_status(run),
        "sourceInfo": [
            {"id": cid, "type": "SourceConnection"} for cid in run.source_connection_ids
        ],
    }


def _record_summary(counts: RecordCounts) -> dict[str, Any]:
    out: dict[str, Any] = {
        "inputRecordCount": counts.input_records,
        "outputRecordCount": counts.output_records,
        "failedRecordCount": counts.failed_records,
    }
    merged = {
        "createdRecordCount": counts.created_records,
        "updatedRecordCount": counts.updated_records,
        "deletedRecordCount": counts.deleted_records,
    }
    out.update({k: v for k, v in merged.items() if v is not None})
    return out


def _copy_status(run: Run) -> dict[str, Any]:
    """The copy's status; for scheduled runs, which run of the window it is and what follows;
    for cdcEnabled flows, the Change Tracking versions copied."""
    out: dict[str, Any] = {"status": str(run.copy_status or run.status)}
    extensions: dict[str, Any] = {}
    if run.changes is not None:
        extensions["changeTracking"] = _changes_json(run.changes)
    attempt = run.window_attempt
    if attempt is not None:
        retry: dict[str, Any] = {
            "attempt": attempt.number,
            "maxAttempts": attempt.of,
            "backoffSeconds": attempt.backoff_seconds,
        }
        if attempt.next_attempt_at is not None:
            retry["nextAttemptAtUTC"] = _ms(attempt.next_attempt_at)
        if attempt.given_up:
            retry["windowGivenUp"] = True
        extensions["retry"] = retry
    if extensions:
        out["extensions"] = extensions
    return out


def _changes_json(changes: ChangeRange) -> dict[str, Any]:
    out: dict[str, Any] = {"toVersion": changes.to_version, "snapshot": changes.snapshot}
    if changes.from_version is not None:
        out["fromVersion"] = changes.from_version
    if changes.snapshot_reason is not None:
        out["snapshotReason"] = changes.snapshot_reason
    return out


def _promotion_activity(run: Run) -> dict[str, Any]:
    counts = run.counts
    targets = []
    for cid in run.target_connection_ids:
        entry: dict[str, Any] = {"id": cid, "type": "TargetConnection"}
        if run.batch_id is not None:
            entry["reference"] = {"type": "Batch", "ids": [run.batch_id]}
        targets.append(entry)
    return {
        "id": "promotionActivity",
        "durationSummary": _duration(run.promotion_started_at, run.promotion_completed_at),
        "sizeSummary": {"inputBytes": counts.output_bytes, "outputBytes": counts.output_bytes},
        "recordSummary": {
            "inputRecordCount": counts.output_records,
            "outputRecordCount": counts.output_records,
        },
        "statusSummary": {"status": str(run.promotion_status)},
        "targetInfo": targets,
    }


def _duration(started: datetime | None, completed: datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if started is not None:
        out["startedAtUTC"] = _ms(started)
    if completed is not None:
        out["completedAtUTC"] = _ms(completed)
    return out


def _sample_json(sample: ErrorSample) -> dict[str, Any]:
    out: dict[str, Any] = {"row": sample.row, "reason": sample.reason}
    if sample.column is not None:
        out["column"] = sample.column
    return out


def _ms(moment: datetime) -> int:
    return to_epoch_ms(moment)


# --- storage --------------------------------------------------------------


def run_to_record(run: Run) -> dict[str, Any]:
    """Everything about the run as JSON-ready data (times in epoch microseconds)."""
    return {
        "v": RECORD_VERSION,
        "id": run.id,
        "flowId": run.flow_id,
        "flowSpec": {"id": run.flow_spec_id, "version": run.flow_spec_version},
        "createdAt": _us(run.created_at),
        "updatedAt": _us(run.updated_at),
        "sourceConnectionIds": list(run.source_connection_ids),
        "targetConnectionIds": list(run.target_connection_ids),
        "window": None
        if run.window is None
        else {"start": _us(run.window.start), "end": _us(run.window.end)},
        "deltaColumn": run.delta_column,
        "scheduleEnd": _us(run.schedule_end),
        "windowAttempt": _attempt_record(run.window_attempt),
        "changes": None if run.changes is None else vars(run.changes).copy(),
        "status": str(run.status),
        "attempt": run.attempt,
        "startedAt": _us(run.started_at),
        "completedAt": _us(run.completed_at),
        "copy": {
            "startedAt": _us(run.copy_started_at),
            "completedAt": _us(run.copy_completed_at),
            "status": None if run.copy_status is None else str(run.copy_status),
        },
        "promotion": {
            "startedAt": _us(run.promotion_started_at),
            "completedAt": _us(run.promotion_completed_at),
            "status": None if run.promotion_status is None else str(run.promotion_status),
        },
        "batchId": run.batch_id,
        "counts": vars(run.counts).copy(),
        "errors": [{"code": e.code, "message": e.message} for e in run.errors],
        "errorSamples": [
            {"row": s.row, "reason": s.reason, "column": s.column} for s in run.error_samples
        ],
    }


def run_from_record(record: dict[str, Any]) -> Run:
    """The inverse of ``run_to_record``."""
    window = record["window"]
    copy, promotion = record["copy"], record["promotion"]
    return Run(
        id=record["id"],
        flow_id=record["flowId"],
        flow_spec_id=record["flowSpec"]["id"],
        flow_spec_version=record["flowSpec"]["version"],
        created_at=_moment(record["createdAt"]),
        updated_at=_from_us(record["updatedAt"]),
        source_connection_ids=list(record["sourceConnectionIds"]),
        target_connection_ids=list(record["targetConnectionIds"]),
        window=None if window is None else _window(window),
        delta_column=record["deltaColumn"],
        schedule_end=_from_us(record.get("scheduleEnd")),
        window_attempt=_attempt_from_record(record.get("windowAttempt")),
        changes=None if record.get("changes") is None else ChangeRange(**record["changes"]),
        status=RunStatus(record["status"]),
        attempt=record["attempt"],
        started_at=_from_us(record["startedAt"]),
        completed_at=_from_us(record["completedAt"]),
        copy_started_at=_from_us(copy["startedAt"]),
        copy_completed_at=_from_us(copy["completedAt"]),
        copy_status=_status(copy["status"]),
        promotion_started_at=_from_us(promotion["startedAt"]),
        promotion_completed_at=_from_us(promotion["completedAt"]),
        promotion_status=_status(promotion["status"]),
        batch_id=record["batchId"],
        counts=RecordCounts(**record["counts"]),
        errors=[RunError(e["code"], e["message"]) for e in record["errors"]],
        error_samples=[
            ErrorSample(s["row"], s["reason"], s["column"]) for s in record["errorSamples"]
        ],
    )


def _attempt_record(attempt: WindowAttempt | None) -> dict[str, Any] | None:
    if attempt is None:
        return None
    return {
        "number": attempt.number,
        "of": attempt.of,
        "backoffSeconds": attempt.backoff_seconds,
        "nextAttemptAt": _us(attempt.next_attempt_at),
        "givenUp": attempt.given_up,
    }


def _attempt_from_record(data: dict[str, Any] | None) -> WindowAttempt | None:
    if data is None:
        return None
    return WindowAttempt(
        number=data["number"],
        of=data["of"],
        backoff_seconds=data["backoffSeconds"],
        next_attempt_at=_from_us(data["nextAttemptAt"]),
        given_up=data["givenUp"],
    )


def _window(data: dict[str, Any]) -> Window:
    return Window(_from_us(data["start"]), _moment(data["end"]))


def _status(value: str | None) -> RunStatus | None:
    return None if value is None else RunStatus(value)


def _us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(us: int | None) -> datetime | None:
    return None if us is None else _moment(us)


def _moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
