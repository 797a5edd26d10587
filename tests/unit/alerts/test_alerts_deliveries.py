"""Deliveries in a real metadata DB (SQLite, PostgreSQL): fan-out, compare-and-set claims."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from service_harness import fresh_postgres_database
from sqlalchemy.orm import Session

from flowservice.alerts import deliveries, delivery_counts, outbox
from flowservice.alerts.facts import RunFacts
from flowservice.alerts.kinds import SUBSCRIPTION_KIND, Phase
from flowservice.core import Core
from flowservice.settings import Settings
from flowservice.store.repos import identity, resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import AlertOutboxRow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Core]:
    # a database of its own: the shared test server's alert dispatcher would fan the outbox
    # out under the counting tests' feet
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres_database("flowservice_alerts"))
        started = Core.start(Settings(home=tmp_path, database_url=url, token_secret="x" * 40))
        yield started
        started.close()


def _scope(core: Core) -> Scope:
    org = f"{uuid.uuid4().hex[:24].upper()}@AdobeOrg"
    with core.transaction() as session:
        identity.ensure_org(session, org_id=org, actor="me")
        sandbox = identity.get_sandbox(session, org_id=org, name="prod")
        return Scope(org, sandbox.id, sandbox.name, "me", "client")


def _run_row(core: Core, scope: Scope) -> str:
    with core.transaction() as session:
        row = resources.insert_resource(session, scope=scope, kind="runs", doc={}, parent_id="f1")
        return row.id


def _subscribe(core: Core, scope: Scope, kinds: list[str]) -> str:
    doc = {"url": "http://127.0.0.1:9/x", "kinds": kinds, "delayMinutes": 1.0}
    with core.transaction() as session:
        row = resources.insert_resource(
            session,
            scope=scope,
            kind=SUBSCRIPTION_KIND,
            doc={**doc, "errorRatePercent": 0.5},
            state="enabled",
            secret_doc=core.secret_box.encrypt("s" * 32),
        )
        return row.id


def _outbox_size(core: Core, run_id: str) -> int:
    with core.transaction() as session:
        return len(session.query(AlertOutboxRow).filter(AlertOutboxRow.run_id == run_id).all())


def test_nothing_is_recorded_without_a_subscription(core: Core) -> None:
    scope = _scope(core)
    run_id = _run_row(core, scope)
    outbox.record(core.sessions, Phase.STARTED, RunFacts(run_id, "f1", "inProgress", 1))
    assert _outbox_size(core, run_id) == 0


def test_recording_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    core = Core.start(Settings(home=tmp_path, token_secret="x" * 40))
    AlertOutboxRow.__table__.drop(core.engine)  # type: ignore[attr-defined]
    outbox.record(core.sessions, Phase.STARTED, RunFacts("r1", "f1", "inProgress", 1))
    assert "alert event not recorded" in caplog.text
    core.close()


def test_fan_out_once_claim_once_and_count(core: Core) -> None:
    scope = _scope(core)
    run_id = _run_row(core, scope)
    _subscribe(core, scope, ["sources_flow_run_start", "sources_flow_run_success"])
    facts = RunFacts(run_id, "f1", "inProgress", 1, started_at_ms=1)
    outbox.record(core.sessions, Phase.STARTED, facts)
    outbox.record(core.sessions, Phase.STARTED, facts)  # the same event twice
    assert _outbox_size(core, run_id) == 2
    with core.transaction() as session:
        added = deliveries.fan_out(session, now_ms=1_000, retry_window_ms=60_000)
    assert added == 1 and _outbox_size(core, run_id) == 0
    with core.transaction() as session:
        before = delivery_counts(session)
        first = deliveries.claim_due(session, now_ms=2_000, hold_ms=10_000)
    with core.transaction() as session:
        second = deliveries.claim_due(session, now_ms=3_000, hold_ms=10_000)
    assert len(first) == 1 and second == []
    with core.transaction() as session:
        assert before["pending"] >= 1
        deliveries.record_attempt(
            session, first[0], now_ms=4_000, status_code=500, error="HTTP 500", next_attempt_at=None
        )
        after = delivery_counts(session)
    assert after["pending"] == before["pending"] - 1
    assert after["failed"] == before["failed"] + 1
    assert after["delivered"] == before["delivered"]


def test_old_finished_deliveries_are_pruned(core: Core) -> None:
    scope = _scope(core)
    run_id = _run_row(core, scope)
    sub_id = _subscribe(core, scope, ["sources_flow_run_start"])
    outbox.record(core.sessions, Phase.STARTED, RunFacts(run_id, "f1", "inProgress", 1))

    def kept(session: Session) -> int:
        return len(deliveries.of_subscription(session, sub_id, limit=10))

    with core.transaction() as session:
        deliveries.fan_out(session, now_ms=100, retry_window_ms=60_000)
        (due,) = deliveries.claim_due(session, now_ms=200, hold_ms=1_000)
        deliveries.prune(session, before_ms=10_000)
        assert kept(session) == 1  # pending: kept
        deliveries.record_attempt(
            session, due, now_ms=300, status_code=204, error=None, next_attempt_at=None
        )
        deliveries.prune(session, before_ms=50)
        assert kept(session) == 1  # raised after the bound
        assert deliveries.prune(session, before_ms=10_000) >= 1
        assert kept(session) == 0
