"""Change Tracking storage: one change log per tracked table, one commit table per database.

Every DML statement on a tracked table appends the keys it touched to the table's log
``__sys.ct_<object_id>``, tagged with the writing transaction's number (``__txn``), a
number ordering the changes of each key (``__seq``), the operation (``I``/``U``/``D``),
the columns an UPDATE set (``__cols``, NULL meaning all) and the change context. At
COMMIT the session adds one row ``(txn, version)`` to ``__sys.ct_commits`` under the
database's lock, so versions follow commit order, a transaction gets exactly one
version, and rolled-back changes vanish with their transaction. Readers join the logs
to ``ct_commits``: inside a DuckDB transaction they see one snapshot of both.

``__seq`` comes from one counter per database: two transactions can never both change
one key before one of them commits (DuckDB refuses the conflict), so for each key the
counter's order is the commit order, and ``arg_max(…, __seq)`` is the latest change.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import errors, sqltypes
from mssql_emulator.engine.catalog import DatabaseCatalog, TableDef

LOG_COLUMNS = "__txn BIGINT, __seq BIGINT, __op VARCHAR, __cols INTEGER[], __context BLOB"
RETENTION_UNITS = {"MINUTES": 1, "HOURS": 2, "DAYS": 3}
DEFAULT_RETENTION = (2, RETENTION_UNITS["DAYS"])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def meta(db: str) -> str:
    return f'{_q(db)}."__sys"'


def log_table(db: str, table: TableDef) -> str:
    return f'{meta(db)}."ct_{table.object_id}"'


def key_columns(table: TableDef) -> list[str]:
    pk = table.primary_key
    return [name for name, _ in pk.columns] if pk else []


def column_id(table: TableDef, name: str) -> int:
    """SQL Server's column_id: the position in the table, from 1."""
    lowered = name.lower()
    return next(i + 1 for i, c in enumerate(table.columns) if c.name.lower() == lowered)


def current_version_sql(db: str) -> str:
    """The last committed version as the reader's snapshot sees it."""
    return f"(SELECT coalesce(max(version), 0) FROM {meta(db)}.ct_commits)"


def load_state(con: duckdb.DuckDBPyConnection, catalog: DatabaseCatalog) -> None:
    """Tracking flags, the last version and the change counter from committed ``__sys`` rows."""
    s = meta(catalog.name)
    for oid, track_columns in con.execute(
        f"SELECT object_id, track_columns FROM {s}.ct_tables"
    ).fetchall():
        table = catalog.by_id.get(oid)
        if table is not None:
            table.change_tracking, table.track_columns = True, bool(track_columns)
    state = con.execute(f"SELECT enabled FROM {s}.ct_database").fetchone()
    catalog.change_tracking = bool(state and state[0])
    option = con.execute(f"SELECT allow_snapshot_isolation FROM {s}.database_options").fetchone()
    catalog.allow_snapshot_isolation = bool(option and option[0])
    version, counter = con.execute(
        f"SELECT coalesce(max(version), 0), coalesce(max(txn), 0) FROM {s}.ct_commits"
    ).fetchone() or (0, 0)
    for table in catalog.by_id.values():
        if table.change_tracking:
            found = con.execute(
                f"SELECT max(__seq) FROM {log_table(catalog.name, table)}"
            ).fetchone()
            counter = max(counter, found[0] if found and found[0] is not None else 0)
    with catalog.lock:
        catalog.ct_version = max(catalog.ct_version, version)
        catalog.ct_counter = max(catalog.ct_counter, counter)


# -- database and table switches ---------------------------------------------------------------


def database_state_statements(
    db: str, enabled: bool, retention: tuple[int, int], auto_cleanup: bool
) -> list[str]:
    period, units = retention
    return [
        f"DELETE FROM {meta(db)}.ct_database",
        f"INSERT INTO {meta(db)}.ct_database VALUES ({'true' if enabled else 'false'}, "
        f"{period}, {units}, {'true' if auto_cleanup else 'false'}, NULL)",
    ]


def enable_statements(db: str, table: TableDef, track_columns: bool) -> list[str]:
    cols = []
    for name in key_columns(table):
        col = table.column(name)
        assert col is not None
        cols.append(f"{_q(col.name)} {sqltypes.duckdb_type(col.type)}")
    return [
        f"CREATE TABLE {log_table(db, table)} ({', '.join(cols)}, {LOG_COLUMNS})",
        f"INSERT INTO {meta(db)}.ct_tables SELECT {table.object_id}, v, v, 0, "
        f"{'true' if track_columns else 'false'} FROM (SELECT {current_version_sql(db)} AS v)",
    ]


def disable_statements(db: str, table: TableDef) -> list[str]:
    return [
        f"DROP TABLE IF EXISTS {log_table(db, table)}",
        f"DELETE FROM {meta(db)}.ct_tables WHERE object_id = {table.object_id}",
    ]


def truncate_statements(db: str, table: TableDef) -> list[str]:
    """TRUNCATE restarts a table's history at the current version, as if just enabled."""
    return [
        f"DELETE FROM {log_table(db, table)}",
        f"UPDATE {meta(db)}.ct_tables SET begin_version = {current_version_sql(db)}, "
        f"min_valid_version = {current_version_sql(db)} WHERE object_id = {table.object_id}",
    ]


# -- recording changes -------------------------------------------------------------------------

_CONTEXT = re.compile(
    r"^WITH\s+CHANGE_TRACKING_CONTEXT\s*\(\s*([^()]*?)\s*\)\s*(,)?\s*(.*)$", re.I | re.S
)
_CONTEXT_TYPE_ERROR = (
    'The "context" argument for the CHANGE_TRACKING_CONTEXT WITH clause must be of type '
    "varbinary data type with a maximum length of 128."
)


def statement_context(
    text: str, variables: dict[str, Any], types: dict[str, SqlType | None]
) -> tuple[bytes | None, str] | None:
    """``WITH CHANGE_TRACKING_CONTEXT (0x… | @var) <DML>`` as (context, DML), else None."""
    match = _CONTEXT.match(text)
    if match is None:
        return None
    value, rest = match.group(1), match.group(3)
    if match.group(2):
        rest = "WITH " + rest  # a common table expression follows
    verb = rest.split(None, 1)[0].upper() if rest.split() else ""
    if verb not in ("INSERT", "UPDATE", "DELETE", "WITH"):
        raise SqlError(156, f"Incorrect syntax near the keyword '{verb or 'WITH'}'.", severity=15)
    if re.fullmatch(r"0x[0-9a-fA-F]*", value):
        digits = value[2:]
        return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits), rest
    if value.upper() == "NULL":
        raise SqlError(156, "Incorrect syntax near the keyword 'NULL'.", severity=15)
    if not value.startswith("@"):
        raise errors.syntax_error(value.split()[0] if value.split() else ")")
    key = value[1:].lower()
    if key not in variables:
        raise errors.must_declare(value)
    declared = types.get(key)
    if (
        declared is None
        or declared.name not in ("binary", "varbinary")
        or declared.length is None
        or not 0 <= declared.length <= 128
    ):
        raise SqlError(22109, _CONTEXT_TYPE_ERROR)
    found = variables[key]
    return (None if found is None else bytes(found)), rest


def _blob(value: bytes | None) -> str:
    return "CAST(NULL AS BLOB)" if value is None else f"unhex('{value.hex()}')"


def record_sql(
    db: str,
    table: TableDef,
    op: str,
    *,
    txn: int,
    seq: int,
    columns: list[int] | None = None,
    context: bytes | None = None,
) -> str:
    """INSERT of changed keys (registered as the Arrow view ``__ct_keys``) into the log."""
    keys = ", ".join(_q(k) for k in key_columns(table))
    cols = f"[{', '.join(str(c) for c in columns)}]::INTEGER[]" if columns else "NULL"
    return (
        f"INSERT INTO {log_table(db, table)} SELECT {keys}, {txn}, {seq}, '{op}', "
        f"{cols}, {_blob(context)} FROM __ct_keys"
    )


def commit(con: duckdb.DuckDBPyConnection, catalog: DatabaseCatalog, txn: int) -> None:
    """COMMIT a transaction that changed tracked tables: it gets the next version.

    The database's lock spans the version's choice and the COMMIT, so versions follow
    commit order; a failed COMMIT leaves the version where it was.
    """
    with catalog.lock:
        version = catalog.ct_version + 1
        con.execute(
            f"INSERT INTO {meta(catalog.name)}.ct_commits VALUES ({txn}, {version}, "
            "CAST(timezone('UTC', now()) AS TIMESTAMP))"
        )
        con.execute("COMMIT")
        catalog.ct_version = version


# -- cleanup -------------------------------------------------------------------------------------


def retention_version_sql(db: str) -> str:
    """The newest version committed longer ago than the database's retention period."""
    return (
        f"(SELECT coalesce(max(c.version), 0) FROM {meta(db)}.ct_commits c, "
        f"{meta(db)}.ct_database d WHERE c.commit_time <= CAST(timezone('UTC', now()) AS "
        "TIMESTAMP) - d.retention_period * CASE d.retention_units WHEN 1 THEN INTERVAL 1 MINUTE "
        "WHEN 2 THEN INTERVAL 1 HOUR ELSE INTERVAL 1 DAY END)"
    )


def cleanup_statements(db: str, table: TableDef, version: int) -> list[str]:
    """Forget a table's changes up to ``version``; it becomes the minimum valid version."""
    oid = table.object_id
    return [
        f"DELETE FROM {log_table(db, table)} WHERE __txn IN "
        f"(SELECT txn FROM {meta(db)}.ct_commits WHERE version <= {version})",
        f"UPDATE {meta(db)}.ct_tables SET cleanup_version = greatest(cleanup_version, {version}), "
        f"min_valid_version = greatest(min_valid_version, {version}) WHERE object_id = {oid}",
        f"UPDATE {meta(db)}.ct_database SET max_cleanup_version = "
        f"greatest(coalesce(max_cleanup_version, 0), {version})",
    ]
