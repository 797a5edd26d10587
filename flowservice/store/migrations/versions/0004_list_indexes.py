"""Indexes for lists filtered, ordered and paged in SQL; runs' created_at is the run's own.

A run's wire ``createdAt`` is its run record's creation time (``doc.run.createdAt``,
microseconds), a few milliseconds before the row's insert. Lists order runs by
``createdAt`` through ``ix_resources_scope_created``, so the column must hold
exactly that time in milliseconds: existing rows are rewritten, and a trigger
sets it on every insert whatever code writes the run (a run's creation time
never changes afterwards).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_resources_scope_created": ["kind", "org_id", "sandbox_id", "created_at", "id"],
    "ix_resources_parent_created": [
        "kind",
        "org_id",
        "sandbox_id",
        "parent_id",
        "created_at",
        "id",
    ],
    "ix_resources_state": ["kind", "state", "org_id", "sandbox_id", "created_at", "id"],
    "ix_resources_name": ["kind", "org_id", "sandbox_id", "name", "created_at", "id"],
}
_TRIGGER = "resources_run_created_at"


def _sqlite_ms(doc: str) -> str:
    """Epoch microseconds in a run doc to whole milliseconds, rounded down as Python's //."""
    us = f"CAST(json_extract({doc}, '$.run.createdAt') AS INTEGER)"
    return f"(CASE WHEN {us} >= 0 THEN {us} / 1000 ELSE ({us} - 999) / 1000 END)"


def _postgres_ms(doc: str) -> str:
    return f"floor(({doc} -> 'run' ->> 'createdAt')::numeric / 1000)::bigint"


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "resources", columns)
    op.drop_index("ix_resources_scope", table_name="resources")
    op.drop_index("ix_resources_parent", table_name="resources")
    if op.get_bind().dialect.name == "postgresql":
        _postgres_upgrade()
    else:
        _sqlite_upgrade()


def _sqlite_upgrade() -> None:
    has_time = "json_extract({doc}, '$.run.createdAt') IS NOT NULL"
    op.execute(
        f"UPDATE resources SET created_at = {_sqlite_ms('doc')} "
        f"WHERE kind = 'runs' AND {has_time.format(doc='doc')}"
    )
    # SQLite triggers cannot change the row being inserted: the row is updated right after
    op.execute(
        f"CREATE TRIGGER {_TRIGGER} AFTER INSERT ON resources FOR EACH ROW "
        f"WHEN NEW.kind = 'runs' AND {has_time.format(doc='NEW.doc')} "
        f"BEGIN UPDATE resources SET created_at = {_sqlite_ms('NEW.doc')} "
        "WHERE id = NEW.id; END"
    )


def _postgres_upgrade() -> None:
    has_time = "({doc} -> 'run' ->> 'createdAt') IS NOT NULL"
    op.execute(
        f"UPDATE resources SET created_at = {_postgres_ms('doc')} "
        f"WHERE kind = 'runs' AND {has_time.format(doc='doc')}"
    )
    op.execute(
        f"CREATE FUNCTION {_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.created_at := {_postgres_ms('NEW.doc')}; RETURN NEW; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {_TRIGGER} BEFORE INSERT ON resources FOR EACH ROW "
        f"WHEN (NEW.kind = 'runs' AND {has_time.format(doc='NEW.doc')}) "
        f"EXECUTE FUNCTION {_TRIGGER}()"
    )


def downgrade() -> None:
    # the rows keep their runs' creation times: as good a created_at as the insert time was
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {_TRIGGER} ON resources")
        op.execute(f"DROP FUNCTION {_TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER {_TRIGGER}")
    op.create_index("ix_resources_scope", "resources", ["kind", "org_id", "sandbox_id"])
    op.create_index("ix_resources_parent", "resources", ["kind", "parent_id"])
    for name in _INDEXES:
        op.drop_index(name, table_name="resources")
