"""Administering Change Tracking: ALTER DATABASE/TABLE switches, snapshot isolation, cleanup.

``ALTER DATABASE … SET CHANGE_TRACKING = ON (CHANGE_RETENTION = n DAYS|HOURS|MINUTES,
AUTO_CLEANUP = ON|OFF) | OFF | (options)``, ``ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION
ON|OFF``, ``ALTER TABLE … ENABLE CHANGE_TRACKING [WITH (TRACK_COLUMNS_UPDATED = ON|OFF)]``,
``ALTER TABLE … DISABLE CHANGE_TRACKING`` and the emulator-only procedure
``sys.sp_flowservice_change_tracking_cleanup`` (nothing cleans up on its own).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mssql_emulator.contract import SqlError, StatementResult
from mssql_emulator.engine import change_tracking, errors
from mssql_emulator.engine.catalog import DatabaseCatalog, TableDef
from mssql_emulator.engine.tsql_text import parse_tsql, split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_NAME = r"((?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]*))*)"
ALTER_DATABASE = re.compile(
    r"^ALTER\s+DATABASE\s+(\[[^\]]+\]|\"[^\"]+\"|[\w@#$]+)\s+(.*)$", re.I | re.S
)
ALTER_TABLE = re.compile(
    rf"^ALTER\s+TABLE\s+{_NAME}\s+(ENABLE|DISABLE)\s+CHANGE_TRACKING\b\s*(.*?)\s*;?\s*$",
    re.I | re.S,
)
_TRACK_COLUMNS = re.compile(r"^WITH\s*\(\s*TRACK_COLUMNS_UPDATED\s*=\s*(ON|OFF)\s*\)$", re.I)
_SNAPSHOT = re.compile(r"^SET\s+ALLOW_SNAPSHOT_ISOLATION\s+(ON|OFF)\s*;?$", re.I)
_CT = re.compile(r"^SET\s+CHANGE_TRACKING\b\s*(.*?)\s*;?$", re.I | re.S)
_MAX_MINUTES = 2147483647
CLEANUP_PROCEDURE = "sp_flowservice_change_tracking_cleanup"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- ALTER DATABASE ------------------------------------------------------------------------------


def alter_database(session: DuckDBSession, match: re.Match[str]) -> StatementResult:
    name_text, rest = match.group(1), match.group(2).strip()
    name = session.database if name_text.upper() == "CURRENT" else split_name(name_text)[-1]
    database = session.resolve_database(name)
    catalog = session.catalog(database) if database else None
    if catalog is None:
        raise SqlError(
            911, f"Database '{name}' does not exist. Make sure that the name is entered correctly."
        )
    snapshot = _SNAPSHOT.match(rest)
    tracking = _CT.match(rest)
    if (snapshot or tracking) and session.in_transaction:
        raise SqlError(
            226, "ALTER DATABASE statement not allowed within multi-statement transaction."
        )
    if snapshot:
        on = snapshot.group(1).upper() == "ON"
        with session.write_scope(catalog.name):
            session.ddl_statement(
                f"DELETE FROM {change_tracking.meta(catalog.name)}.database_options"
            )
            session.ddl_statement(
                f"INSERT INTO {change_tracking.meta(catalog.name)}.database_options "
                f"VALUES ({'true' if on else 'false'})"
            )
        catalog.allow_snapshot_isolation = on
        return StatementResult()
    if tracking:
        _set_change_tracking(session, catalog, tracking.group(1))
    # Other database options are accepted and ignored, as before.
    return StatementResult()


def _set_change_tracking(session: DuckDBSession, catalog: DatabaseCatalog, text: str) -> None:
    form = re.match(r"^=\s*(ON|OFF)\b\s*(.*)$", text, re.I | re.S)
    if form is None and not text.startswith("("):
        word = text.split()[0] if text.split() else "CHANGE_TRACKING"
        if word.upper() in ("ON", "OFF"):
            raise SqlError(156, f"Incorrect syntax near the keyword '{word}'.", severity=15)
        raise errors.syntax_error(word)
    turn = form.group(1).upper() if form else ""
    options_text = (form.group(2) if form else text).strip()
    if options_text.startswith(","):
        raise SqlError(
            22114,
            "Change tracking options for ALTER DATABASE cannot be combined with other ALTER "
            "DATABASE options.",
        )
    if turn == "OFF" and options_text:
        raise errors.syntax_error(options_text.split()[0])
    options = _options(options_text, state=2 if turn == "ON" else 1) if options_text else {}
    if turn == "" and not options:
        raise errors.syntax_error(")")
    db = catalog.name
    if turn == "ON" and catalog.change_tracking:
        raise SqlError(5088, f"Change tracking is already enabled for database '{db}'.")
    if turn != "ON" and not catalog.change_tracking:
        raise SqlError(
            5089,
            f"Change tracking is disabled for database '{db}'. Change tracking must be "
            "enabled on a database to modify change tracking settings.",
            state=1 if turn == "OFF" else 2,
        )
    if turn == "OFF" and any(t.change_tracking for t in catalog.by_id.values()):
        raise SqlError(
            22115,
            f"Change tracking is enabled for one or more tables in database '{db}'. Disable "
            "change tracking on each table before disabling it for the database. Use the "
            "sys.change_tracking_tables catalog view to obtain a list of tables for which "
            "change tracking is enabled.",
        )
    retention, auto_cleanup = change_tracking.DEFAULT_RETENTION, True
    if turn != "ON":
        rows = session.rows(
            f"SELECT retention_period, retention_units, auto_cleanup FROM "
            f"{change_tracking.meta(db)}.ct_database"
        )
        if rows:
            retention, auto_cleanup = (rows[0][0], rows[0][1]), bool(rows[0][2])
    retention = options.get("CHANGE_RETENTION", retention)
    auto_cleanup = options.get("AUTO_CLEANUP", auto_cleanup)
    enabled = turn != "OFF"
    with session.write_scope(db), catalog.lock:
        for stmt in change_tracking.database_state_statements(db, enabled, retention, auto_cleanup):
            session.ddl_statement(stmt)
        catalog.change_tracking = enabled
        session.mark_ddl()


def _options(text: str, state: int) -> dict[str, Any]:
    """``(CHANGE_RETENTION = n UNITS, AUTO_CLEANUP = ON|OFF)`` as a dict, checked as SQL Server."""
    inner = re.match(r"^\(\s*(.*?)\s*\)$", text, re.S)
    if inner is None or not inner.group(1):
        raise errors.syntax_error(")")
    out: dict[str, Any] = {}
    for item in inner.group(1).split(","):
        words = item.replace("=", " = ").split()
        if len(words) < 3 or words[1] != "=":
            raise errors.syntax_error(words[-1] if words else ",")
        option = words[0].upper()
        if option in out:
            raise SqlError(
                5091,
                f"ALTER DATABASE change tracking option '{option}' was specified more than once. "
                "Each option can be specified only once.",
                severity=15,
                state=state,
            )
        if option == "AUTO_CLEANUP" and len(words) == 3 and words[2].upper() in ("ON", "OFF"):
            out[option] = words[2].upper() == "ON"
        elif option == "CHANGE_RETENTION" and words[2].isdigit():
            if len(words) != 4:
                raise errors.syntax_error(words[-1])
            unit = words[3].upper()
            if unit not in change_tracking.RETENTION_UNITS:
                raise SqlError(
                    155,
                    f"'{words[3]}' is not a recognized CHANGE RETENTION UNIT option.",
                    severity=15,
                    state=2,
                )
            code = change_tracking.RETENTION_UNITS[unit]
            minutes = int(words[2]) * {1: 1, 2: 60, 3: 1440}[code]
            if not 1 <= minutes <= _MAX_MINUTES:
                raise SqlError(
                    5092,
                    f"The value for change tracking option '{option}' is not valid. The value "
                    f"must be between 1 and {_MAX_MINUTES} minutes.",
                    severity=15,
                )
            out[option] = (int(words[2]), code)
        else:
            raise errors.syntax_error(words[2])
    return out


# -- ALTER TABLE ---------------------------------------------------------------------------------


def alter_table(session: DuckDBSession, match: re.Match[str]) -> StatementResult:
    shown, enable, tail = match.group(1), match.group(2).upper() == "ENABLE", match.group(3)
    track = _TRACK_COLUMNS.match(tail) if enable and tail else None
    if tail and track is None:
        raise errors.syntax_error(tail.split()[0])
    try:
        _, catalog, table = session.translator().resolve_table(split_name(shown), shown)
    except SqlError:
        raise SqlError(
            4902,
            f'Cannot find the object "{shown}" because it does not exist or you do not have '
            "permissions.",
        ) from None
    if enable:
        if not catalog.change_tracking:
            raise SqlError(
                1718,
                f"Change tracking must be enabled on database '{catalog.name}' before it can be "
                f"enabled on table '{shown}'.",
            )
        if table.change_tracking:
            raise SqlError(4996, f"Change tracking is already enabled for table '{shown}'.")
        if table.kind != "U" or table.primary_key is None:
            raise SqlError(
                4997,
                f"Cannot enable change tracking on table '{shown}'. Change tracking requires a "
                "primary key on the table. Create a primary key on the table before enabling "
                "change tracking.",
            )
    elif not table.change_tracking:
        raise SqlError(4998, f"Change tracking is not enabled on table '{shown}'.")
    track_columns = bool(track and track.group(1).upper() == "ON")
    with session.write_scope(catalog.name), catalog.lock:
        statements = (
            change_tracking.enable_statements(catalog.name, table, track_columns)
            if enable
            else change_tracking.disable_statements(catalog.name, table)
        )
        for stmt in statements:
            session.ddl_statement(stmt)
        table.change_tracking, table.track_columns = enable, enable and track_columns
        session.mark_ddl()
    return StatementResult()


# -- cleanup -------------------------------------------------------------------------------------


def _arguments(session: DuckDBSession, text: str) -> dict[str, Any]:
    """``[@name =] value, …`` of an EXEC, evaluated; positions keyed ``0``, ``1``, …"""
    out: dict[str, Any] = {}
    if not text.strip():
        return out
    node = parse_tsql("SELECT " + text)
    for i, item in enumerate(node.expressions):
        key = str(i)
        if item.key == "eq" and item.this.key == "parameter":
            key, item = item.this.name.lower(), item.expression
        out[key] = session.expression_value(item)
    return out


def cleanup(session: DuckDBSession, args_text: str) -> StatementResult:
    """``sys.sp_flowservice_change_tracking_cleanup [@table_name =] N's.t', [@up_to_version =] n``.

    Forgets the change information of one tracked table (or of every tracked table of the
    current database) committed at or before ``@up_to_version``, by default older than the
    database's retention period, and raises the minimum valid version to match. One row
    per table: table_name, cleanup_version, deleted_rows.
    """
    if session.read_only:
        raise SqlError(
            229,
            f"The EXECUTE permission was denied on the object '{CLEANUP_PROCEDURE}', database "
            f"'{session.database}', schema 'sys'.",
            severity=14,
        )
    args = _arguments(session, args_text)
    table_name = args.get("table_name", args.get("0"))
    up_to = args.get("up_to_version", args.get("1"))
    catalog = session.catalog(session.database)
    assert catalog is not None
    tables: list[TableDef]
    if table_name is not None:
        _, catalog, table = session.translator().resolve_table(
            split_name(str(table_name)), str(table_name)
        )
        if not table.change_tracking:
            raise SqlError(22105, f"Change tracking is not enabled on table '{table_name}'.")
        tables = [table]
    else:
        tables = [t for t in catalog.by_id.values() if t.change_tracking]
    db = catalog.name
    limit_sql = change_tracking.retention_version_sql(db) if up_to is None else str(int(up_to))
    current = change_tracking.current_version_sql(db)
    version = int(session.rows(f"SELECT least({limit_sql}, {current})")[0][0])
    rows = []
    with session.write_scope(db):
        for table in tables:
            deleting, *updates = change_tracking.cleanup_statements(db, table, version)
            deleted = session.run(deleting)
            count = deleted.fetchall()[0][0] if deleted is not None else 0
            for stmt in updates:
                session.ddl_statement(stmt)
            rows.append(f"('{table.schema}.{table.name}', {version}, {int(count)})")
    values = ", ".join(rows) or "(NULL, NULL, NULL)"
    where = "" if rows else " WHERE false"
    return session.select(
        "SELECT CAST(table_name AS VARCHAR) AS table_name, CAST(cleanup_version AS BIGINT) AS "
        "cleanup_version, CAST(deleted_rows AS BIGINT) AS deleted_rows FROM (VALUES "
        f"{values}) AS r(table_name, cleanup_version, deleted_rows){where}",
        None,
    )
