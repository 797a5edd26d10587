"""The run-duration histogram of /metrics, bucketed in SQL, over generated durations.

A real SQLite metadata DB (migrated like the service's) holds finished runs
with the generated durations; the collector's families are compared with the
same durations counted in Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from flowservice.flows.persistence import runs as store_runs
from flowservice.flows.run_state import RecordCounts, Run, RunStatus
from flowservice.observability.collector import (
    DURATION_BOUNDS,
    RunMetricsCollector,
    SampleSource,
    delivery_outcomes,
    render,
)
from flowservice.store import db
from flowservice.store.repos import identity
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

ORG = "METRICSUNIT@AdobeOrg"
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    path: Path = tmp_path_factory.mktemp("metrics") / "m.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        identity.ensure_org(session, org_id=ORG)
    yield factory
    engine.dispose()


def _scope(session: Session) -> Scope:
    sandbox = identity.get_sandbox(session, org_id=ORG, name="prod")
    return Scope(ORG, sandbox.id, sandbox.name, "tester", "client")


def _store(session: Session, status: RunStatus, seconds: float | None, records: int) -> None:
    run = Run(
        id=str(uuid.uuid4()),
        flow_id="flow-1",
        flow_spec_id="spec",
        flow_spec_version="1.0",
        created_at=NOW,
        status=status,
        counts=RecordCounts(input_records=records, output_records=records),
    )
    if seconds is not None:
        run.started_at = NOW - timedelta(seconds=seconds)
        run.completed_at = NOW
    store_runs.insert_run(session, scope=_scope(session), run=run, start_at=NOW)


def _families(
    sessions: sessionmaker[Session], sources: Sequence[SampleSource] = ()
) -> dict[str, dict[str, float]]:
    text = render(RunMetricsCollector(sessions, sources=sources, clock=lambda: NOW)).decode()
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out.setdefault(s.name, {})[key] = s.value
    return out


durations = st.lists(
    st.one_of(st.none(), st.floats(min_value=0, max_value=30_000, allow_nan=False)),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(durations=durations)
def test_buckets_are_cumulative_and_count_the_runs_that_ran(
    sessions: sessionmaker[Session], durations: list[float | None]
) -> None:
    with db.transaction(sessions) as session:
        session.execute(delete(Resource).where(Resource.kind == store_runs.RUN_KIND))
        for seconds in durations:
            _store(session, RunStatus.SUCCESS, seconds, records=3)
    families = _families(sessions)
    # stored in microseconds, as a worker stores them
    ran_us = [timedelta(seconds=d) // timedelta(microseconds=1) for d in durations if d is not None]
    ran = [us / 1_000_000 for us in ran_us]
    scope = f"org_id={ORG},sandbox=prod,state=success"
    if not durations:
        assert "flowservice_run_duration_seconds_count" not in families
        return
    buckets = families["flowservice_run_duration_seconds_bucket"]
    counts = [buckets[f"le={float(b)},{scope}"] for b in DURATION_BOUNDS]
    counts.append(buckets[f"le=+Inf,{scope}"])
    assert counts == sorted(counts)
    expected = [sum(1 for us in ran_us if us <= b * 1_000_000) for b in DURATION_BOUNDS]
    assert counts[:-1] == expected
    assert counts[-1] == len(ran)
    assert families["flowservice_run_duration_seconds_count"][scope] == len(ran)
    assert families["flowservice_run_duration_seconds_sum"][scope] == pytest.approx(
        sum(ran), abs=1e-3
    )
    assert families["flowservice_runs"][scope] == len(durations)
    records = families["flowservice_run_records_read"][f"org_id={ORG},sandbox=prod"]
    assert records == 3 * len(durations)


def test_unfinished_runs_are_counted_by_state_not_timed(sessions: sessionmaker[Session]) -> None:
    with db.transaction(sessions) as session:
        session.execute(delete(Resource).where(Resource.kind == store_runs.RUN_KIND))
        _store(session, RunStatus.IN_PROGRESS, None, records=0)
        _store(session, RunStatus.SCHEDULED, None, records=0)  # due at NOW
    families = _families(sessions)
    assert families["flowservice_runs"][f"org_id={ORG},sandbox=prod,state=inProgress"] == 1
    assert families["flowservice_runs"][f"org_id={ORG},sandbox=prod,state=scheduled"] == 1
    assert "flowservice_run_duration_seconds_count" not in families
    assert families["flowservice_run_queue_depth"] == {"": 1}
    assert families["flowservice_scheduler_lag_seconds"] == {"": 0}


def test_extra_sample_sources_join_the_scrape(sessions: sessionmaker[Session]) -> None:
    seen: list[Session] = []

    def counts(session: Session) -> dict[str, int]:
        seen.append(session)
        return {"delivered": 4, "failed": 1, "pending": 0}

    families = _families(sessions, sources=[delivery_outcomes(counts)])
    assert families["flowservice_alert_deliveries"] == {
        "outcome=delivered": 4,
        "outcome=failed": 1,
        "outcome=pending": 0,
    }
    assert len(seen) == 1
