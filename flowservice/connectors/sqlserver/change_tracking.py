"""SQL Server Change Tracking: a table's tracking state, what blocks reading it, its changes.

One small query gives the state: ``CHANGE_TRACKING_CURRENT_VERSION()`` (NULL while
the database does not track changes), ``CHANGE_TRACKING_MIN_VALID_VERSION`` of the
table (NULL when the table is not tracked *or the login lacks VIEW CHANGE TRACKING*)
and whether ``sys.change_tracking_tables`` lists the table. A tracked table whose
minimum valid version is NULL therefore means a missing permission.

Changes are read without snapshot isolation: the caller keeps the current version
read *before* the changes as its next starting point, so a change committed during
the read is read again next time, which upserts and deletes by key make harmless.
The minimum valid version is checked before the read and again after the last batch,
so a cleanup that ran meanwhile cannot silently drop changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from flowservice.connectors.base import (
    CHANGE_TYPE_COLUMN,
    ChangesExpired,
    ChangeTrackingState,
    ChangeTrackingUnavailable,
)
from flowservice.connectors.sqlserver.catalog import CatalogColumn, CatalogObject
from flowservice.connectors.sqlserver.queries import changes_statement
from flowservice.connectors.sqlserver.types import arrow_schema, conform, quote_identifier
from flowservice.errors import SourceConfigError

# The object's name is the catalog's own spelling, quoted, sent as a parameter.
STATE = """
SELECT DB_NAME(), CHANGE_TRACKING_CURRENT_VERSION(),
       CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(?)),
       (SELECT COUNT(*) FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(?))
"""

CHANGE_TYPE_FIELD = pa.field(CHANGE_TYPE_COLUMN, pa.string())
ENABLE_DATABASE = "SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)"


@dataclass(frozen=True)
class Tracking:
    """The state of one table and the database it lives in (for messages)."""

    database: str
    state: ChangeTrackingState


def read_state(cursor: Any, obj: CatalogObject) -> Tracking:
    """The tracking state of ``obj`` from one query on ``cursor``."""
    cursor.execute(STATE, (obj.quoted, obj.quoted))
    row = cursor.fetchone()
    database, current, min_valid, listed = row if row is not None else (None, None, None, 0)
    database_enabled = current is not None
    table_enabled = database_enabled and bool(listed)
    state = ChangeTrackingState(
        database_enabled=database_enabled,
        table_enabled=table_enabled,
        current_version=None if current is None else int(current),
        min_valid_version=None if min_valid is None else int(min_valid),
        can_read=table_enabled and min_valid is not None and obj.kind == "table",
    )
    return Tracking(database=str(database or ""), state=state)


def quiet_state(cursor: Any, obj: CatalogObject) -> ChangeTrackingState | None:
    """The state, or None when the query fails (explore must answer without it)."""
    import mssql_python

    try:
        return read_state(cursor, obj).state
    except mssql_python.Error:
        return None


def key_columns(cols: list[CatalogColumn]) -> list[CatalogColumn]:
    """The primary-key columns in key order."""
    keyed = [c for c in cols if c.primary_key_position is not None]
    return sorted(keyed, key=lambda c: c.primary_key_position or 0)


def problem(
    tracking: Tracking,
    obj: CatalogObject,
    cols: list[CatalogColumn],
    *,
    user: str,
    wanted: list[str] | None = None,
) -> ChangeTrackingUnavailable | None:
    """What keeps ``read_changes`` from working on ``obj``, as the error to raise; None if nothing.

    Messages name the statement that fixes each problem.
    """
    state, path, table = tracking.state, obj.path, obj.quoted
    enable_table = f"ALTER TABLE {table} ENABLE CHANGE_TRACKING"
    if obj.kind != "table":
        return _unavailable(
            f"{path} is a view; change tracking works on tables only: read the changes of "
            "the tables it selects from.",
            "not_a_table",
            path,
        )
    key = key_columns(cols)
    if not key:
        return _unavailable(
            f"{path} has no primary key; change tracking needs one. Add a PRIMARY KEY "
            f"constraint, then run {enable_table}.",
            "no_primary_key",
            path,
        )
    if not state.database_enabled:
        database = quote_identifier(tracking.database) if tracking.database else "<database>"
        return _unavailable(
            f"Change tracking is off for database '{tracking.database}'. Run "
            f"ALTER DATABASE {database} {ENABLE_DATABASE}, then {enable_table}.",
            "database_disabled",
            path,
        )
    if not state.table_enabled:
        return _unavailable(
            f"Change tracking is off for table {path}. Run {enable_table}.",
            "table_disabled",
            path,
        )
    if state.min_valid_version is None:
        return _unavailable(
            f"The login '{user}' may not read the changes of {path}: run GRANT VIEW CHANGE "
            f"TRACKING ON {table} TO the login's database user (who also needs SELECT on "
            "the primary-key columns).",
            "no_permission",
            path,
        )
    if wanted is not None:
        asked = {name.lower() for name in wanted}
        missing = [c.name for c in key if c.name.lower() not in asked]
        if missing:
            return _unavailable(
                f"Reading the changes of {path} needs every primary-key column; the columns "
                f"leave out {', '.join(missing)}.",
                "key_columns_missing",
                path,
            )
    return None


def _unavailable(message: str, reason: str, path: str) -> ChangeTrackingUnavailable:
    return ChangeTrackingUnavailable(message, reason=reason, table=path)


def check_since(tracking: Tracking, obj: CatalogObject, since: int, *, during: bool) -> None:
    """``ChangesExpired`` unless every change of ``obj`` after ``since`` can still be read.

    ``during``: the check after a read, worded for changes removed while reading.
    """
    state = tracking.state
    current, oldest = state.current_version, state.min_valid_version
    if current is not None and since > current:
        message = (
            f"Version {since} is newer than the current change tracking version {current} of "
            f"database '{tracking.database}' (was it restored from a backup?): copy "
            f"{obj.path} again."
        )
    elif oldest is not None and since < oldest:
        when = "while they were read" if during else "already"
        message = (
            f"The changes of {obj.path} since version {since} are no longer available ({when}: "
            f"the oldest version they can be read from is {oldest}; cleanup removed older "
            "changes, or the table was truncated or its tracking turned off and on): copy "
            f"{obj.path} again."
        )
    else:
        return
    raise ChangesExpired(
        message,
        since_version=since,
        min_valid_version=oldest,
        current_version=current,
        table=obj.path,
    )


def changes_schema(cols: list[CatalogColumn]) -> pa.Schema:
    """The schema of every batch ``read_changes`` yields."""
    return arrow_schema([(c.name, c.sql_type) for c in cols]).append(CHANGE_TYPE_FIELD)


def read_changes(
    cursor: Any,
    obj: CatalogObject,
    all_cols: list[CatalogColumn],
    cols: list[CatalogColumn],
    *,
    since_version: int,
    batch_rows: int,
    user: str,
) -> Iterator[pa.RecordBatch]:
    """Stream the net changes after ``since_version`` as ``changes_schema(cols)`` batches."""
    before = read_state(cursor, obj)
    blocked = problem(before, obj, all_cols, user=user, wanted=[c.name for c in cols])
    if blocked is not None:
        raise blocked
    check_since(before, obj, since_version, during=False)
    if any(c.name.lower() == CHANGE_TYPE_COLUMN for c in cols):
        raise SourceConfigError(
            f"{obj.path} has a column named {CHANGE_TYPE_COLUMN}, the name of the change type "
            "that reading changes adds; leave that column out."
        )
    sql, params = changes_statement(obj, cols, key_columns(all_cols), since_version=since_version)
    cursor.execute(sql, params)
    typed = [(c.name, c.sql_type) for c in cols]
    schema = changes_schema(cols)
    reader = cursor.arrow_reader(batch_rows)
    try:
        for batch in reader:
            if batch.num_rows:
                yield _with_change_type(batch, typed, schema)
    finally:
        reader.close()
    after = read_state(cursor, obj)
    blocked = problem(after, obj, all_cols, user=user)
    if blocked is not None:
        raise blocked
    check_since(after, obj, since_version, during=True)


def _with_change_type(
    batch: pa.RecordBatch, typed: list[tuple[str, Any]], schema: pa.Schema
) -> pa.RecordBatch:
    """``conform`` the table's columns; the last driver column is the change type."""
    conformed = conform(batch, typed)
    change = batch.column(batch.num_columns - 1).cast(pa.string())
    return pa.RecordBatch.from_arrays([*conformed.columns, change], schema=schema)
