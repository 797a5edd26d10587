"""``flows.scheduler_loop.ScheduleRepository`` over the metadata DB: every org's flows and runs."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flowservice.errors import FlowServiceError
from flowservice.flows.failure_policy import WindowAttempt
from flowservice.flows.persistence import runs
from flowservice.flows.run_state import Run, RunStatus
from flowservice.flows.schedule import parse_schedule
from flowservice.flows.scheduler import FlowSchedule, PlannedRun
from flowservice.flows.transformations import parse_transformations
from flowservice.store import db
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import FlowWatermark, Resource

SCHEDULER_ACTOR = "flowservice-scheduler"
log = logging.getLogger(__name__)


def flow_scope(row: Resource, *, sandbox_name: str = "", actor: str = SCHEDULER_ACTOR) -> Scope:
    """The scope a flow lives in, acting as the scheduler (for rows it creates)."""
    return Scope(
        org_id=row.org_id,
        sandbox_id=row.sandbox_id,
        sandbox_name=sandbox_name,
        actor=actor,
        client_id=row.created_client,
    )


def new_run(
    flow: Resource,
    *,
    now: datetime,
    planned_window: Any,
    schedule_end: Any,
    window_attempt: WindowAttempt | None = None,
) -> Run:
    """A ``scheduled`` run of ``flow`` (``planned_window`` None: a full snapshot)."""
    doc = flow.doc
    transformations = parse_transformations(doc.get("transformations"))
    delta = transformations.delta_column
    return Run(
        id=str(uuid.uuid4()),
        flow_id=flow.id,
        flow_spec_id=doc["flowSpec"]["id"],
        flow_spec_version=doc["flowSpec"]["version"],
        created_at=now,
        source_connection_ids=list(doc["sourceConnectionIds"]),
        target_connection_ids=list(doc["targetConnectionIds"]),
        window=planned_window,
        delta_column=None if delta is None else delta.name,
        schedule_end=schedule_end,
        window_attempt=window_attempt,
    )


class StoreScheduleRepository:
    """What the scheduler loop reads and writes, across every org and sandbox."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def flow_schedules(self) -> list[FlowSchedule]:
        with db.transaction(self._sessions) as session:
            flows = list(
                session.scalars(
                    select(Resource).where(Resource.kind == runs.FLOW_KIND).order_by(Resource.id)
                )
            )
            active = runs.active_flow_ids(session)
            positions = {row.flow_id: row for row in session.scalars(select(FlowWatermark))}
        out = []
        for flow in flows:
            try:
                schedule = parse_schedule(flow.doc["scheduleParams"])
                incremental = parse_transformations(flow.doc.get("transformations")).incremental
            except (FlowServiceError, KeyError, TypeError) as exc:
                # one unreadable flow must not stop every other flow's schedule
                log.error("flow %s skipped by the scheduler: %s", flow.id, type(exc).__name__)
                continue
            position = positions.get(flow.id)
            out.append(
                FlowSchedule(
                    flow_id=flow.id,
                    schedule=schedule,
                    watermark=_moment(position.watermark_us if position else None),
                    enabled=flow.state == "enabled",
                    incremental=incremental,
                    has_active_run=flow.id in active,
                    failures=position.failures if position else 0,
                    retry_at=_moment(position.retry_at_us if position else None),
                )
            )
        return out

    def create_run(self, planned: PlannedRun, *, now: datetime) -> str:
        with db.transaction(self._sessions) as session:
            flow = session.get(Resource, planned.flow_id)
            if flow is None:
                return ""  # deleted since it was planned
            run = new_run(
                flow,
                now=now,
                planned_window=planned.copy_window,
                schedule_end=planned.window.end,
                window_attempt=planned.attempt,
            )
            runs.insert_run(session, scope=flow_scope(flow), run=run, start_at=now)
            return run.id

    def runs_to_submit(self, *, now: datetime) -> list[str]:
        due = runs.to_us(now)
        with db.transaction(self._sessions) as session:
            rows = runs.run_ids_with_status(session, RunStatus.SCHEDULED)
            return [r.id for r in rows if int(r.doc.get("startAtUs", 0)) <= due]


def _moment(us: int | None) -> datetime | None:
    return None if us is None else runs.from_us(us)
