"""Runs in the ``resources`` table (kind ``runs``, ``parent_id`` = flow id) and flow watermarks.

A flow's watermark row also counts the failed scheduled runs of the window
at its position (``flows.failure_policy``); moving the watermark clears them.

A run row's ``state`` is the run status (indexed filtering), its ``doc`` holds
``run_to_record`` under ``run`` and the earliest start time under ``startAtUs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flowservice.errors import Conflict, InternalError, NotFound
from flowservice.flows.failure_policy import FailurePolicy, WindowAttempt
from flowservice.flows.run_json import run_from_record, run_to_record
from flowservice.flows.run_progress import ProgressSnapshot
from flowservice.flows.run_state import RUN_STATE_CONFLICT, Run, RunStatus
from flowservice.flows.runner import CopyContext
from flowservice.flows.schedule import EPOCH
from flowservice.store import db
from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope, new_etag
from flowservice.store.tables import FlowWatermark, Resource

RUN_KIND = "runs"
FLOW_KIND = "flows"
ACTIVE = (str(RunStatus.SCHEDULED), str(RunStatus.IN_PROGRESS))


def to_us(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def insert_run(session: Session, *, scope: Scope, run: Run, start_at: datetime) -> Resource:
    return resources.insert_resource(
        session,
        scope=scope,
        kind=RUN_KIND,
        resource_id=run.id,
        state=str(run.status),
        spec_id=run.flow_spec_id,
        parent_id=run.flow_id,
        doc={"run": run_to_record(run), "startAtUs": to_us(start_at)},
    )


def run_row(session: Session, run_id: str) -> Resource:
    """The run's row whatever its org (for the runner and scheduler, never for requests)."""
    row = session.get(Resource, run_id)
    if row is None or row.kind != RUN_KIND:
        raise NotFound(f"run {run_id} is not found", resource_type=RUN_KIND, resource_id=run_id)
    return row


def run_of(row: Resource) -> Run:
    return run_from_record(row.doc["run"])


def save_run(
    session: Session,
    *,
    run: Run,
    row: Resource | None = None,
    expected_state: str | None = None,
    expected_attempt: int | None = None,
) -> Resource:
    """Store the run's current state (a new etag every time).

    With ``expected_state`` the write is a compare-and-set on the stored
    status: a run cancelled by a request while a worker picked it up (or the
    reverse) is not overwritten; the loser gets ``Conflict`` (1416).
    ``expected_attempt`` also fences on the stored attempt number, so a worker
    whose attempt was requeued (and maybe started again) cannot write over it.
    """
    row = row if row is not None else run_row(session, run.id)
    query = update(Resource).where(Resource.id == run.id)
    if expected_state is not None:
        query = query.where(Resource.state == expected_state)
    if expected_attempt is not None:
        query = query.where(Resource.doc["run"]["attempt"].as_integer() == expected_attempt)
    doc: dict[str, Any] = dict(row.doc)
    doc["run"] = run_to_record(run)
    if run.status is not RunStatus.IN_PROGRESS:
        doc.pop(CANCEL_FLAG, None)  # the request is answered (or a new attempt begins)
    done = session.execute(
        query.values(
            doc=doc,
            state=str(run.status),
            etag=new_etag(),
            updated_at=max(now_ms(), row.updated_at),
        ).execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 1) != 1:
        expected = (
            expected_state
            if expected_attempt is None
            else f"{expected_state} at attempt {expected_attempt}"
        )
        raise Conflict(
            f"run {run.id} changed meanwhile (no longer {expected}); read it again",
            code=RUN_STATE_CONFLICT,
            resource_type=RUN_KIND,
            resource_id=run.id,
        )
    session.refresh(row)
    return row


CANCEL_FLAG = "cancelRequested"


def save_progress(session: Session, *, run_id: str, attempt: int, live: ProgressSnapshot) -> bool:
    """Put a running attempt's live counts into its stored record; False if it moved on.

    Best effort: written only over the row just read (its etag), so a cancel
    request or a requeue in between is never overwritten; the next report retries.
    """
    row = session.get(Resource, run_id)
    if row is None or row.state != str(RunStatus.IN_PROGRESS):
        return False
    record = row.doc["run"]
    if record.get("attempt") != attempt:
        return False
    counts = dict(record["counts"])
    counts.update(input_records=live.read, output_records=live.written, failed_records=live.failed)
    doc: dict[str, Any] = dict(row.doc)
    doc["run"] = {**record, "counts": counts}
    done = session.execute(
        update(Resource)
        .where(Resource.id == run_id, Resource.etag == row.etag)
        .values(doc=doc, etag=new_etag(), updated_at=max(now_ms(), row.updated_at))
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def request_cancel(session: Session, *, row: Resource) -> None:
    """Flag an ``inProgress`` run for its worker, wherever it executes (it polls the flag)."""
    doc: dict[str, Any] = dict(row.doc)
    doc[CANCEL_FLAG] = True
    session.execute(
        update(Resource)
        .where(Resource.id == row.id, Resource.state == str(RunStatus.IN_PROGRESS))
        .values(doc=doc, etag=new_etag(), updated_at=max(now_ms(), row.updated_at))
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)


def cancel_requested(session: Session, run_id: str) -> bool:
    row = session.get(Resource, run_id)
    return row is not None and bool(row.doc.get(CANCEL_FLAG))


def runs_of_flows(session: Session, *, scope: Scope, flow_ids: Sequence[str]) -> list[Resource]:
    return resources.list_resources(session, scope=scope, kind=RUN_KIND, parent_ids=flow_ids)


def active_flow_ids(session: Session) -> set[str]:
    """Flows (of every org) that have a run ``scheduled`` or ``inProgress``."""
    rows = session.scalars(
        select(Resource.parent_id).where(Resource.kind == RUN_KIND, Resource.state.in_(ACTIVE))
    )
    return {r for r in rows if r is not None}


def run_ids_with_status(session: Session, status: RunStatus) -> list[Resource]:
    return list(
        session.scalars(
            select(Resource)
            .where(Resource.kind == RUN_KIND, Resource.state == str(status))
            .order_by(Resource.created_at)
        )
    )


def watermark(session: Session, flow_id: str) -> datetime | None:
    row = session.get(FlowWatermark, flow_id)
    return None if row is None or row.watermark_us is None else from_us(row.watermark_us)


def advance_watermark(session: Session, flow_id: str, moment: datetime) -> None:
    """Move the flow's watermark to ``moment`` unless it already is at or past it.

    A move starts a new window: the failures counted for the old one are cleared.
    """
    row = session.get(FlowWatermark, flow_id, with_for_update=True)
    value = to_us(moment)
    if row is None:
        session.add(FlowWatermark(flow_id=flow_id, watermark_us=value, failures=0))
    elif row.watermark_us is None or row.watermark_us < value:
        row.watermark_us = value
        row.failures, row.retry_at_us = 0, None
    session.flush()


def record_failure(
    session: Session, run: Run, policy: FailurePolicy, *, now: datetime
) -> WindowAttempt:
    """Count the failed scheduled ``run``: plan its window's next attempt, or give it up.

    Giving up moves the flow's position to the end of the run's window, so the
    schedule goes on with the next one. Returns the run's updated attempt.
    """
    attempt = run.window_attempt
    if attempt is None:
        raise InternalError("only scheduled runs are retried")
    retry_at = policy.after_failure(attempt.number, now)
    if retry_at is None:
        if run.schedule_end is not None:
            advance_watermark(session, run.flow_id, run.schedule_end)
        return replace(attempt, given_up=True)
    state = session.get(FlowWatermark, run.flow_id, with_for_update=True)
    if state is None:
        state = FlowWatermark(flow_id=run.flow_id, watermark_us=None)
        session.add(state)
    state.failures, state.retry_at_us = attempt.number, to_us(retry_at)
    session.flush()
    return replace(attempt, next_attempt_at=retry_at)


def forget_watermark(session: Session, flow_id: str) -> None:
    row = session.get(FlowWatermark, flow_id)
    if row is not None:
        session.delete(row)
        session.flush()


def _save_fenced(session: Session, run: Run) -> None:
    """Save a worker's step, provided the stored run is still where that step began.

    A start moves ``scheduled`` at the previous attempt to ``inProgress`` at a
    new one; a requeue or a finish leaves ``inProgress`` at the same attempt.
    A worker whose run was requeued meanwhile (its heartbeat lapsed) gets
    ``Conflict`` instead of overwriting the requeue or the next attempt.
    """
    if run.status is RunStatus.IN_PROGRESS:
        state, attempt = RunStatus.SCHEDULED, run.attempt - 1
    else:
        state, attempt = RunStatus.IN_PROGRESS, run.attempt
    save_run(session, run=run, expected_state=str(state), expected_attempt=attempt)


class StoreRunRepository:
    """``flows.runner.RunRepository`` over the metadata DB; copy contexts come from ``resolve``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        resolve: Callable[[Session, Resource, Run], CopyContext],
        failure_policy: FailurePolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._resolve = resolve
        self._failure_policy = failure_policy or FailurePolicy()

    def load(self, run_id: str) -> Run:
        with db.transaction(self._sessions) as session:
            return run_of(run_row(session, run_id))

    def save(self, run: Run) -> None:
        """A worker's start or a recovery's requeue, fenced on the state it moved from."""
        with db.transaction(self._sessions) as session:
            _save_fenced(session, run)

    def finish(self, run: Run, *, watermark: datetime | None) -> None:
        with db.transaction(self._sessions) as session:
            if run.status is RunStatus.FAILED and run.window_attempt is not None:
                run.window_attempt = record_failure(
                    session, run, self._failure_policy, now=run.completed_at or run.created_at
                )
            _save_fenced(session, run)
            if watermark is not None:
                advance_watermark(session, run.flow_id, watermark)

    def save_progress(self, run: Run, live: ProgressSnapshot) -> None:
        with db.transaction(self._sessions) as session:
            save_progress(session, run_id=run.id, attempt=run.attempt, live=live)

    def copy_context(self, run: Run) -> CopyContext:
        with db.transaction(self._sessions) as session:
            return self._resolve(session, run_row(session, run.id), run)

    def cancel_requested(self, run_id: str) -> bool:
        with db.transaction(self._sessions) as session:
            return cancel_requested(session, run_id)

    def in_progress(self) -> list[str]:
        with db.transaction(self._sessions) as session:
            return [r.id for r in run_ids_with_status(session, RunStatus.IN_PROGRESS)]
