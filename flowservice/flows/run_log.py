"""One log line per run event: started, retry planned, succeeded, failed, cancelled, requeued.

Each line names the flow, the run, its window, record counts and duration,
in the message (for people) and as ``extra`` fields (for the JSON log format,
``FLOWSERVICE_LOG_FORMAT=json``). Messages hold ids and numbers only: a run's
error text is already secret-free, but only its code is logged here.
"""

from __future__ import annotations

import logging
from typing import Any

from flowservice.flows.run_state import Run, RunStatus
from flowservice.flows.schedule import to_epoch_ms

log = logging.getLogger("flowservice.runs")


def run_fields(run: Run) -> dict[str, Any]:
    """What every run line carries."""
    fields: dict[str, Any] = {
        "event": "",
        "flowId": run.flow_id,
        "runId": run.id,
        "status": str(run.status),
        "windowStart": None if run.window is None else run.window.start_ms,
        "windowEnd": None if run.window is None else run.window.end_ms,
    }
    if run.window_attempt is not None:
        fields["attempt"] = run.window_attempt.number
        fields["maxAttempts"] = run.window_attempt.of
    return fields


def started(run: Run) -> None:
    _emit(logging.INFO, "run started", run)


def requeued(run: Run) -> None:
    _emit(logging.WARNING, "run requeued after its worker was lost", run)


def finished(run: Run) -> None:
    """The line for a run that just ended, and for a failed scheduled run what comes next."""
    if run.status is RunStatus.SUCCESS:
        _emit(logging.INFO, "run succeeded", run)
    elif run.status is RunStatus.CANCELLED:
        _emit(logging.INFO, "run cancelled", run)
    elif run.status is RunStatus.FAILED:
        _emit(logging.WARNING, "run failed", run)
        attempt = run.window_attempt
        if attempt is not None and attempt.next_attempt_at is not None:
            _emit(
                logging.INFO,
                "run retry planned",
                run,
                nextAttemptAt=to_epoch_ms(attempt.next_attempt_at),
                nextAttempt=attempt.number + 1,
            )
        elif attempt is not None and attempt.given_up:
            _emit(logging.WARNING, "run window given up after its last attempt", run)


def _emit(level: int, what: str, run: Run, **more: Any) -> None:
    fields = run_fields(run)
    fields["event"] = what
    counts = run.counts
    fields.update(
        inputRecords=counts.input_records,
        outputRecords=counts.output_records,
        failedRecords=counts.failed_records,
    )
    if run.started_at is not None and run.completed_at is not None:
        fields["durationSeconds"] = round((run.completed_at - run.started_at).total_seconds(), 3)
    if run.errors:
        fields["errorCode"] = run.errors[-1].code
    fields.update(more)
    text = " ".join(f"{k}={v}" for k, v in fields.items() if k != "event" and v is not None)
    log.log(level, "%s: %s", what, text, extra={"run": fields})
