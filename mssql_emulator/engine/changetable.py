"""Reading Change Tracking: ``CHANGETABLE(CHANGES|VERSION …)`` and the tracking functions.

sqlglot cannot parse ``CHANGETABLE(…)``, so ``extract`` swaps each call for a placeholder
table name before parsing and the translator swaps the placeholder for a DuckDB subquery
built here. Everything is one set-based query over the table's change log joined to the
commit table (see ``change_tracking``).

Net effect per key over the changes committed after ``last_sync_version`` (``v``), in
change order: the operation is ``D`` when the last change deleted the row, else ``I``
when the first change inserted it, else ``U`` (so a delete then re-insert is an update);
``SYS_CHANGE_VERSION`` is the last change's version, ``SYS_CHANGE_CREATION_VERSION`` the
last insert's (NULL without one after ``v``), ``SYS_CHANGE_CONTEXT`` the last change's.
A row inserted and deleted after ``v`` is reported as ``D``, as SQL Server does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import sqlglot
from sqlglot import exp

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import errors
from mssql_emulator.engine.catalog import ColumnDef, DatabaseCatalog, TableDef
from mssql_emulator.engine.change_tracking import (
    current_version_sql,
    key_columns,
    log_table,
    meta,
)
from mssql_emulator.engine.tsql_text import parse_tsql, split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.translate import Translator

_NAME = r"((?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]*))*)"
_CALL = re.compile(
    rf"CHANGETABLE\s*\(\s*(?:CHANGES\s+{_NAME}\s*,\s*([^(),]+?)|VERSION\s+{_NAME}\s*,\s*"
    r"\(([^()]*)\)\s*,\s*\(([^()]*)\))\s*(?:,\s*FORCESEEK\s*)?\)",
    re.IGNORECASE,
)
_SCALAR = re.compile(r"^(?:@[\w@#$]+|[+-]?\d+|NULL)$", re.IGNORECASE)
PLACEHOLDER = "__changetable_"

# Temporary macros every session connection gets (see ``engine.connect``).
MACROS = [
    # SYS_CHANGE_COLUMNS: four zero bytes, then each column_id (little-endian int) once.
    """CREATE OR REPLACE TEMP MACRO mssql_ct_mask(ids) AS (
        unhex('00000000' || array_to_string(list_transform(
            list_filter(ids, lambda x, i: list_position(ids, x) = i),
            lambda x: printf('%02X%02X%02X%02X', x & 255, (x >> 8) & 255, (x >> 16) & 255,
                             (x >> 24) & 255)), '')))""",
    """CREATE OR REPLACE TEMP MACRO mssql_ct_in_mask(id, mask) AS (
        CASE WHEN mask IS NULL THEN 1
             WHEN octet_length(mask) < 8 THEN error('MSSQL|22101|16|The value supplied for '
                || 'the change_columns argument of CHANGE_TRACKING_IS_COLUMN_IN_MASK function '
                || 'is not valid. The value must be a bitmask returned by the '
                || 'CHANGETABLE(CHANGES ...) function.')
             WHEN list_contains(list_transform(range(8, 2 * octet_length(mask) - 7, 8),
                      lambda i: substr(hex(mask), i + 1, 8)),
                  printf('%02X%02X%02X%02X', id & 255, (id >> 8) & 255, (id >> 16) & 255,
                         (id >> 24) & 255)) THEN 1
             ELSE 0 END)""",
]


@dataclass(frozen=True)
class Call:
    """One ``CHANGETABLE(…)`` of a statement, as written."""

    kind: str  # CHANGES or VERSION
    target: str
    since: str = ""
    columns: list[str] = field(default_factory=list)
    values: str = ""


def extract(text: str, calls: dict[str, Call]) -> str:
    """``text`` with each ``CHANGETABLE(…)`` replaced by a placeholder recorded in ``calls``."""

    def replace(match: re.Match[str]) -> str:
        key = f"{PLACEHOLDER}{len(calls)}"
        if match.group(1) is not None:
            since = match.group(2).strip()
            if not _SCALAR.match(since):
                raise errors.syntax_error(since.split()[-1])
            calls[key] = Call("CHANGES", match.group(1), since=since)
        else:
            columns = [c.strip().strip('[]"') for c in match.group(4).split(",") if c.strip()]
            calls[key] = Call("VERSION", match.group(3), columns=columns, values=match.group(5))
        return key

    return _CALL.sub(replace, text)


def check_tracked(table: TableDef, shown: str) -> None:
    if table.kind != "U":
        raise SqlError(
            22107,
            f"Object '{shown}' is of a data type that is not supported by the CHANGETABLE "
            "function. The object must be a user-defined table.",
        )
    if not table.change_tracking:
        raise SqlError(22105, f"Change tracking is not enabled on table '{shown}'.")


def require_alias(alias: str) -> None:
    if not alias:
        raise SqlError(22104, "A table returned by the CHANGETABLE function must be aliased.")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def changes_sql(db: str, table: TableDef, since: str) -> str:
    """The body of ``CHANGETABLE(CHANGES table, since)``; ``since`` is DuckDB SQL."""
    keys = ", ".join(f"l.{_q(k)}" for k in key_columns(table))
    columns = (
        "CASE WHEN bool_and(l.__op = 'U' AND l.__cols IS NOT NULL) THEN "
        "mssql_ct_mask(flatten(list(l.__cols ORDER BY l.__seq))) END"
        if table.track_columns
        else "NULL"
    )
    return (
        "SELECT max(c.version) AS SYS_CHANGE_VERSION, "
        "max(c.version) FILTER (WHERE l.__op = 'I') AS SYS_CHANGE_CREATION_VERSION, "
        "CASE WHEN arg_max(l.__op, l.__seq) = 'D' THEN 'D' "
        "WHEN arg_min(l.__op, l.__seq) = 'I' THEN 'I' ELSE 'U' END AS SYS_CHANGE_OPERATION, "
        f"CAST({columns} AS BLOB) AS SYS_CHANGE_COLUMNS, "
        "arg_max_null(l.__context, l.__seq) AS SYS_CHANGE_CONTEXT, "
        f"{keys} FROM {log_table(db, table)} AS l "
        f"JOIN {meta(db)}.ct_commits AS c ON c.txn = l.__txn "
        f"WHERE c.version > coalesce(CAST(({since}) AS BIGINT), -1) "
        f"AND coalesce(CAST(({since}) AS BIGINT), 0) >= 0 GROUP BY {keys}"
    )


def version_sql(db: str, table: TableDef, values: dict[str, str]) -> str:
    """The body of ``CHANGETABLE(VERSION table, (keys), (values))``; values are DuckDB SQL.

    One row when the key exists in the table; its version is the last committed change's,
    NULL without one or while the reader's own transaction holds an uncommitted change.
    """
    keys = key_columns(table)
    row = f"{_q(db)}.{_q(table.schema)}.{_q(table.name)}"
    match_log = " AND ".join(f"l.{_q(k)} = __ct_row.{_q(k)}" for k in keys)
    match_row = " AND ".join(f"__ct_row.{_q(k)} = ({values[k.lower()]})" for k in keys)
    changes = (
        f"FROM {log_table(db, table)} AS l LEFT JOIN {meta(db)}.ct_commits AS c "
        f"ON c.txn = l.__txn WHERE {match_log}"
    )
    return (
        "SELECT (SELECT CASE WHEN bool_or(c.version IS NULL) THEN NULL ELSE max(c.version) END "
        f"{changes}) AS SYS_CHANGE_VERSION, "
        f"(SELECT arg_max_null(l.__context, l.__seq) {changes}) AS SYS_CHANGE_CONTEXT, "
        + ", ".join(f"__ct_row.{_q(k)}" for k in keys)
        + f" FROM {row} AS __ct_row WHERE {match_row}"
    )


def check_version_columns(table: TableDef, shown: str, columns: list[str], n_values: int) -> None:
    keys = [k.lower() for k in key_columns(table)]
    for col in columns:
        if col.lower() not in keys:
            raise SqlError(
                22111,
                f"The column '{col}' specified in the CHANGETABLE(VERSION ...) function is not "
                f"part of the primary key for table '{shown}'.",
            )
    if len(columns) != len(keys) or len({c.lower() for c in columns}) != len(keys):
        raise SqlError(
            22110,
            "The number of columns specified in the CHANGETABLE(VERSION ...) function does not "
            f"match the number of primary key columns for table '{shown}'.",
        )
    if n_values != len(columns):
        raise SqlError(
            22103,
            "The arguments supplied are not valid for the VERSION option of the CHANGETABLE "
            "function.",
        )


def resolve(translator: Translator, key: str) -> tuple[str, TableDef]:
    """The database and tracked table of a ``CHANGETABLE`` placeholder."""
    call = translator.scope.changetables[key]
    database, _, table = translator.resolve_table(split_name(call.target), call.target)
    check_tracked(table, call.target)
    return database, table


def subquery(translator: Translator, key: str) -> exp.Subquery:
    """The DuckDB subquery replacing a ``CHANGETABLE`` placeholder (alias set by the caller)."""
    call = translator.scope.changetables[key]
    database, table = resolve(translator, key)
    if call.kind == "CHANGES":
        body = changes_sql(database, table, translator.sql(_expressions(call.since)[0]))
    else:
        values = _expressions(call.values) if call.values.strip() else []
        check_version_columns(table, call.target, call.columns, len(values))
        named = {c.lower(): translator.sql(v) for c, v in zip(call.columns, values, strict=True)}
        body = version_sql(database, table, named)
    return exp.Subquery(this=sqlglot.parse_one(body, read="duckdb"))


def _expressions(text: str) -> list[exp.Expression]:
    return list(parse_tsql(f"SELECT {text}").expressions)


def result_table(call: Call, table: TableDef) -> TableDef:
    """The columns a ``CHANGETABLE`` yields, with SQL Server's types (for result metadata)."""
    keys = [c for k in key_columns(table) if (c := table.column(k)) is not None]
    head = [ColumnDef("SYS_CHANGE_VERSION", SqlType("bigint"))]
    if call.kind == "CHANGES":
        head += [
            ColumnDef("SYS_CHANGE_CREATION_VERSION", SqlType("bigint")),
            ColumnDef("SYS_CHANGE_OPERATION", SqlType("nchar", length=1)),
            ColumnDef("SYS_CHANGE_COLUMNS", SqlType("varbinary", length=4100)),
        ]
    head.append(ColumnDef("SYS_CHANGE_CONTEXT", SqlType("varbinary", length=128)))
    return TableDef(table.object_id, table.schema, table.name, "U", head + keys)


def _with_args(sql: str, args: list[exp.Expression]) -> exp.Expression:
    node = cast(exp.Expression, sqlglot.parse_one(sql, read="duckdb"))

    def put(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and n.name.startswith("__arg") and n.name.endswith("__"):
            return args[int(n.name[5:-2])].copy()
        return n

    return node.transform(put)


FUNCTIONS = (
    "CHANGE_TRACKING_CURRENT_VERSION",
    "CHANGE_TRACKING_MIN_VALID_VERSION",
    "CHANGE_TRACKING_IS_COLUMN_IN_MASK",
    "COLUMNPROPERTY",
)


def function(
    name: str, args: list[exp.Expression], catalog: DatabaseCatalog | None, prop: object
) -> exp.Expression:
    """One of ``FUNCTIONS`` as DuckDB; ``prop`` is COLUMNPROPERTY's constant third argument."""
    if catalog is None:
        return exp.Null()
    s = meta(catalog.name)
    if name == "CHANGE_TRACKING_CURRENT_VERSION":
        if args:
            raise SqlError(
                174, "The change_tracking_current_version function requires 0 argument(s)."
            )
        return (
            _with_args(current_version_sql(catalog.name), [])
            if catalog.change_tracking
            else exp.Null()
        )
    if name == "CHANGE_TRACKING_MIN_VALID_VERSION":
        return _with_args(
            f"(SELECT min_valid_version FROM {s}.ct_tables WHERE object_id = __arg0__)", args
        )
    if name == "CHANGE_TRACKING_IS_COLUMN_IN_MASK":
        if len(args) != 2:
            raise SqlError(
                174, "The change_tracking_is_column_in_mask function requires 2 argument(s)."
            )
        return _with_args(
            "mssql_ct_in_mask(CAST(__arg0__ AS INTEGER), CAST(__arg1__ AS BLOB))", args
        )
    # COLUMNPROPERTY(object_id, column, 'ColumnId'): the one property change tracking needs.
    if len(args) != 3 or not isinstance(prop, str) or prop.lower() != "columnid":
        return exp.Null()
    return _with_args(
        f"(SELECT column_id FROM {s}.columns WHERE object_id = __arg0__ "
        "AND lower(name) = lower(__arg1__))",
        args,
    )
