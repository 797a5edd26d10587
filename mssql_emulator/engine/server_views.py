"""Server-wide ``sys`` views, built per query from the engine's databases and sessions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from mssql_emulator.engine.catalog import DatabaseCatalog


class SessionRow(Protocol):
    spid: int
    user: str
    database: str
    isolation_level: int


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sessions(sessions: Iterable[SessionRow], catalogs: dict[str, DatabaseCatalog]) -> str:
    rows = [
        f"({s.spid}, {_literal(s.user)}, {s.isolation_level}, {_literal(s.database)}, "
        f"{catalogs[s.database.lower()].database_id}, true)"
        for s in sessions
    ] or ["(0, 'sa', 2, 'master', 1, false)"]
    return (
        "SELECT * FROM (VALUES " + ", ".join(rows) + ") AS s(session_id, login_name, "
        "transaction_isolation_level, database_name, database_id, is_user_process)"
    )


def _databases(catalogs: Iterable[DatabaseCatalog]) -> str:
    rows = [
        f"({_literal(c.name)}, {c.database_id}, 160, 'ONLINE', 0, "
        f"{'true' if c.change_tracking else 'false'}, "
        f"{1 if c.allow_snapshot_isolation else 0}, "
        f"{_literal('ON' if c.allow_snapshot_isolation else 'OFF')})"
        for c in sorted(catalogs, key=lambda c: c.database_id)
    ]
    return (
        "SELECT name, database_id, compatibility_level, state_desc, state, "
        "is_change_tracking_on, CAST(snapshot_isolation_state AS UTINYINT) AS "
        "snapshot_isolation_state, snapshot_isolation_state_desc FROM (VALUES "
        + ", ".join(rows)
        + ") AS d(name, database_id, compatibility_level, state_desc, state, "
        "is_change_tracking_on, snapshot_isolation_state, snapshot_isolation_state_desc)"
    )


def _change_tracking_databases(catalogs: Iterable[DatabaseCatalog]) -> str:
    """One row per database tracking changes, read from each database's ``__sys``."""
    parts = [
        f"SELECT {c.database_id} AS database_id, CAST(auto_cleanup AS UTINYINT) AS "
        "is_auto_cleanup_on, retention_period, retention_units AS retention_period_units, "
        "CASE retention_units WHEN 1 THEN 'MINUTES' WHEN 2 THEN 'HOURS' ELSE 'DAYS' END "
        "AS retention_period_units_desc, max_cleanup_version "
        f'FROM "{c.name}"."__sys".ct_database WHERE enabled'
        for c in catalogs
    ]
    return " UNION ALL ".join(parts)


def server_view(
    name: str, catalogs: dict[str, DatabaseCatalog], sessions: Iterable[SessionRow]
) -> str | None:
    """DuckDB SQL answering ``sys.<name>``, or None when the view is per database."""
    lowered = name.lower()
    if lowered == "dm_exec_sessions":
        return _sessions(sessions, catalogs)
    if lowered == "databases":
        return _databases(catalogs.values())
    if lowered == "change_tracking_databases":
        return _change_tracking_databases(catalogs.values())
    return None
