"""Aggregates over the run rows of the metadata DB (every org), one GROUP BY query each.

A run row keeps its status in ``state`` and its record (``flows.run_json``)
in ``doc["run"]``: times in epoch microseconds, counts under ``counts``.
Each query reads the run rows once, O(runs), and returns O(orgs x sandboxes
x states) rows; the queue query only reads ``scheduled`` rows (an index seek).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, case, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from flowservice.flows.persistence.runs import RUN_KIND
from flowservice.flows.run_state import FINAL, RunStatus
from flowservice.store.tables import Resource, Sandbox

FINAL_STATES = tuple(sorted(str(s) for s in FINAL))
US_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class StateCount:
    org_id: str
    sandbox: str
    state: str
    runs: int


@dataclass(frozen=True)
class FinishedRuns:
    """The finished runs of one org, sandbox and final state.

    ``timed``: those that started and completed (a run cancelled before it
    started has no duration); ``buckets[i]``: how many of them took at most
    ``bounds[i]`` seconds (cumulative, as Prometheus wants).
    """

    org_id: str
    sandbox: str
    state: str
    runs: int
    timed: int
    duration_seconds: float
    buckets: tuple[int, ...]
    records_read: int
    records_written: int
    records_failed: int


@dataclass(frozen=True)
class Queue:
    """Scheduled runs whose start time has come but that no worker has started."""

    due: int
    oldest_due_us: int | None


def json_int(*path: str) -> ColumnElement[int]:
    """A number of a row's ``doc`` at ``path``, as a 64-bit integer (epoch microseconds
    overflow 32 bits); one JSON path lookup on either database."""
    return sql_cast(Resource.doc[path].as_string(), BigInteger)


def runs_by_state(session: Session) -> list[StateCount]:
    query = (
        select(Resource.org_id, Sandbox.name, Resource.state, func.count())
        .join(Sandbox, Sandbox.id == Resource.sandbox_id)
        .where(Resource.kind == RUN_KIND)
        .group_by(Resource.org_id, Sandbox.name, Resource.state)
    )
    return [
        StateCount(org, sandbox, str(state), int(count))
        for org, sandbox, state, count in session.execute(query)
    ]


def finished_runs(session: Session, *, bounds: Sequence[float]) -> list[FinishedRuns]:
    """Counts, durations and records of the finished runs, bucketed in the DB.

    The run docs are read once, in a materialized CTE (each JSON lookup
    parses the doc); the buckets are sums over its plain columns.
    """
    rows = (
        select(
            Resource.org_id,
            Resource.sandbox_id,
            Resource.state,
            (json_int("run", "completedAt") - json_int("run", "startedAt")).label("duration"),
            json_int("run", "counts", "input_records").label("read"),
            json_int("run", "counts", "output_records").label("written"),
            json_int("run", "counts", "failed_records").label("failed"),
        )
        .where(Resource.kind == RUN_KIND, Resource.state.in_(FINAL_STATES))
        .cte("finished_runs")
        .prefix_with("MATERIALIZED")
    )
    duration = rows.c.duration
    timed = duration.is_not(None)
    query = (
        select(
            rows.c.org_id,
            Sandbox.name,
            rows.c.state,
            func.count(),
            func.count(duration),
            func.sum(duration),
            func.sum(rows.c.read),
            func.sum(rows.c.written),
            func.sum(rows.c.failed),
            *(
                func.sum(case((timed & (duration <= bound * US_PER_SECOND), 1), else_=0))
                for bound in bounds
            ),
        )
        .join(Sandbox, Sandbox.id == rows.c.sandbox_id)
        .group_by(rows.c.org_id, Sandbox.name, rows.c.state)
    )
    out = []
    for row in session.execute(query):
        org, sandbox, state, runs, n_timed, total_us, read, written, failed, *buckets = row
        out.append(
            FinishedRuns(
                org_id=org,
                sandbox=sandbox,
                state=str(state),
                runs=int(runs),
                timed=int(n_timed or 0),
                duration_seconds=int(total_us or 0) / US_PER_SECOND,
                buckets=tuple(int(b or 0) for b in buckets),
                records_read=int(read or 0),
                records_written=int(written or 0),
                records_failed=int(failed or 0),
            )
        )
    return out


def queue(session: Session, *, now_us: int) -> Queue:
    start_at = json_int("startAtUs")
    query = select(func.count(), func.min(start_at)).where(
        Resource.kind == RUN_KIND,
        Resource.state == str(RunStatus.SCHEDULED),
        start_at <= now_us,
    )
    due, oldest = session.execute(query).one()
    return Queue(due=int(due or 0), oldest_due_us=None if oldest is None else int(oldest))
