"""The on-demand window rule (``flows.window_overlap``) applied to a flow's stored runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flowservice.flows.persistence.runs import RUN_KIND, run_of, watermark
from flowservice.flows.run_state import RunStatus
from flowservice.flows.schedule import Window
from flowservice.flows.window_overlap import CommittedWindow, refused_window
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource


def committed_windows(
    session: Session, *, scope: Scope, flow_id: str, except_run: str = ""
) -> list[CommittedWindow]:
    """Windows of the flow's ``success`` runs (filtered in SQL), full snapshots left out."""
    rows = session.scalars(
        select(Resource).where(
            Resource.kind == RUN_KIND,
            Resource.org_id == scope.org_id,
            Resource.sandbox_id == scope.sandbox_id,
            Resource.parent_id == flow_id,
            Resource.state == str(RunStatus.SUCCESS),
            Resource.id != except_run,
        )
    )
    out = []
    for row in rows:
        window = run_of(row).window
        if window is not None:
            out.append(CommittedWindow(row.id, window))
    return out


def check_window(
    session: Session, *, scope: Scope, flow_id: str, window: Window, except_run: str = ""
) -> None:
    """Refuse (``ValidationFailed``) an on-demand or re-triggered window the rule forbids."""
    error = refused_window(
        window,
        committed=committed_windows(session, scope=scope, flow_id=flow_id, except_run=except_run),
        position=watermark(session, flow_id),
    )
    if error is not None:
        raise error
