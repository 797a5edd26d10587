"""Migration 0004 on a database with rows: indexes, runs' creation times, trigger, downgrade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from service_harness import fresh_postgres_database
from sqlalchemy import Engine, inspect, select, update

from flowservice.flows.persistence.runs import insert_run
from flowservice.flows.run_state import Run
from flowservice.flows.schedule import EPOCH, to_epoch_ms
from flowservice.store import db
from flowservice.store.repos import identity, resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

NEW_INDEXES = {
    "ix_resources_scope_created",
    "ix_resources_parent_created",
    "ix_resources_state",
    "ix_resources_name",
}
OLD_INDEXES = {"ix_resources_scope", "ix_resources_parent"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield made
        made.dispose()
        return
    with fresh_postgres_database("flowservice_migration") as url:
        made = db.make_engine(url)
        yield made
        made.dispose()


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _indexes(engine: Engine) -> set[str]:
    return {str(ix["name"]) for ix in inspect(engine).get_indexes("resources")}


def _run(created_us: int) -> Run:
    created = EPOCH + timedelta(microseconds=created_us)
    return Run(str(uuid.uuid4()), "flow-1", "spec", "1.0", created)


def test_upgrade_rewrites_runs_created_at_and_downgrade_restores(engine: Engine) -> None:
    _migrate(engine, "0003")
    assert _indexes(engine) >= OLD_INDEXES and not NEW_INDEXES & _indexes(engine)
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        identity.ensure_org(session, org_id="MIGRATE@AdobeOrg")
        sandbox = identity.get_sandbox(session, org_id="MIGRATE@AdobeOrg", name="prod")
        scope = Scope("MIGRATE@AdobeOrg", sandbox.id, sandbox.name, "a", "c")
        old = _run(1_600_000_000_123_456)
        insert_run(session, scope=scope, run=old, start_at=old.created_at)
        plain = resources.insert_resource(session, scope=scope, kind="connections", doc={})
        session.execute(update(Resource).where(Resource.id == plain.id).values(created_at=5))

    _migrate(engine, "head")
    assert _indexes(engine) >= NEW_INDEXES and not OLD_INDEXES & _indexes(engine)
    with db.transaction(sessions) as session:
        new = _run(1_650_000_000_000_999)
        insert_run(session, scope=scope, run=new, start_at=new.created_at)
        stored = {
            r.id: r.created_at for r in session.execute(select(Resource.id, Resource.created_at))
        }
    assert stored[old.id] == to_epoch_ms(old.created_at) == 1_600_000_000_123  # rewritten
    assert stored[new.id] == to_epoch_ms(new.created_at)  # the trigger's
    assert stored[plain.id] == 5  # other kinds keep theirs

    _migrate(engine, "0003", down=True)
    assert _indexes(engine) >= OLD_INDEXES and not NEW_INDEXES & _indexes(engine)
    with db.transaction(sessions) as session:
        later = _run(1_700_000_000_000_999)
        insert_run(session, scope=scope, run=later, start_at=later.created_at)
        row = session.get(Resource, later.id)
        assert row is not None and row.created_at != to_epoch_ms(later.created_at)  # no trigger
    _migrate(engine, "head")
    assert _indexes(engine) >= NEW_INDEXES
