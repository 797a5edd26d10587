"""User-defined table types (``CREATE TYPE … AS TABLE``) and table-valued parameters.

A table type's definition lives in ``__sys.user_types``. A table-valued parameter (an
Arrow table from the front end) becomes a temporary DuckDB table typed by its table
type; the variable then holds a ``TableValue`` naming it, which ``FROM @param`` reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from mssql_emulator.contract import Param, SqlError, StatementResult
from mssql_emulator.engine import conversions, errors, routine_catalog, sqltypes, system_tables
from mssql_emulator.engine.catalog import ColumnDef
from mssql_emulator.engine.table_parser import parse_create_table
from mssql_emulator.engine.tsql_text import split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

# The front end names a table-valued parameter's type in its Arrow schema metadata.
TYPE_NAME_KEY = b"type_name"

_CREATE = re.compile(
    r"^CREATE\s+TYPE\s+((?:\[[^\]]+\]|\"[^\"]+\"|[\w$#]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w$#]+))?)"
    r"\s+(AS\s+TABLE\s*\((.*)\)|FROM\s+.+)\s*;?\s*$",
    re.I | re.S,
)
_DROP = re.compile(r"^DROP\s+TYPE\s+(IF\s+EXISTS\s+)?(.+?)\s*;?\s*$", re.I | re.S)


@dataclass(frozen=True)
class TableType:
    user_type_id: int
    schema: str
    name: str
    columns: list[ColumnDef]


@dataclass(frozen=True)
class TableValue:
    """The value of a table-valued variable: a temporary table on the session's connection."""

    relation: str


def handles(text: str) -> bool:
    return re.match(r"^(?:CREATE|DROP)\s+TYPE\b", text, re.I) is not None


def run(session: DuckDBSession, text: str) -> StatementResult:
    match = _DROP.match(text)
    if match is not None:
        _drop(session, match.group(2), if_exists=bool(match.group(1)))
        return StatementResult()
    match = _CREATE.match(text)
    if match is None:
        raise errors.syntax_error("TYPE")
    if match.group(3) is None:
        raise errors.not_supported("CREATE TYPE FROM (alias data types)")
    _create(session, split_name(match.group(1)), match.group(3))
    return StatementResult()


def _schema_of(session: DuckDBSession, parts: list[str]) -> tuple[str, str]:
    catalog = session.catalog(session.database)
    assert catalog is not None
    schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
    schema_name = catalog.schema_name(schema)
    if schema_name is None:
        raise SqlError(
            2760,
            f'The specified schema name "{schema}" either does not exist '
            "or you do not have permission to use it.",
        )
    return schema_name, parts[-1]


def _create(session: DuckDBSession, parts: list[str], columns_text: str) -> None:
    schema, name = _schema_of(session, parts)
    if find(session, f"{schema}.{name}") is not None:
        raise SqlError(
            219,
            f"The type '{schema}.{name}' already exists, or you do not have permission to "
            "create it.",
        )
    parse_create_table(f"CREATE TABLE t ({columns_text})")  # checks the column list
    catalog = session.catalog(session.database)
    assert catalog is not None
    db = catalog.name
    s = f'"{db}"."__sys"'
    with session.write_scope(db), catalog.lock:
        used = session.rows(f"SELECT max(user_type_id) FROM {s}.user_types")
        user_type_id = max(int(used[0][0] or 0) + 1, routine_catalog.FIRST_USER_TYPE_ID)
        oid = catalog.new_object_id()
        definition = f"CREATE TYPE [{schema}].[{name}] AS TABLE ({columns_text})"
        row = (user_type_id, name, catalog.schema_id(schema), oid, definition)
        for stmt in system_tables.insert_statements(db, {"user_types": [row]}):
            session.ddl_statement(stmt)
        session.mark_ddl()


def _drop(session: DuckDBSession, name_text: str, *, if_exists: bool) -> None:
    found = find(session, name_text)
    if found is None:
        if if_exists:
            return
        raise SqlError(
            218,
            f"Cannot find the type '{split_name(name_text)[-1]}', because it does not exist "
            "or you do not have permission.",
        )
    catalog = session.catalog(session.database)
    assert catalog is not None
    with session.write_scope(catalog.name), catalog.lock:
        session.ddl_statement(
            f'DELETE FROM "{catalog.name}"."__sys".user_types '
            f"WHERE user_type_id = {found.user_type_id}"
        )
        session.mark_ddl()


def find(session: DuckDBSession, name_text: str) -> TableType | None:
    """The table type ``[schema.]name`` of the current database, else None."""
    parts = split_name(name_text)
    if not parts:
        return None
    schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
    db = session.database
    if len(parts) >= 3 and parts[-3]:
        db = session.resolve_database(parts[-3]) or parts[-3]
    if session.catalog(db) is None:
        return None
    s = f'"{db}"."__sys"'
    rows = session.rows(
        f"SELECT t.user_type_id, sc.name, t.name, t.definition FROM {s}.user_types t "
        f"JOIN {s}.schemas sc ON sc.schema_id = t.schema_id "
        f"WHERE lower(t.name) = lower({_literal(parts[-1])}) "
        f"AND lower(sc.name) = lower({_literal(schema)})"
    )
    if not rows:
        return None
    type_id, schema_name, name, definition = rows[0]
    body = definition[definition.index("(") + 1 : definition.rindex(")")]
    columns = parse_create_table(f"CREATE TABLE t ({body})").columns
    return TableType(int(type_id), schema_name, name, columns)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def type_id_expression(database: str, name: Any) -> exp.Expression:
    """TYPE_ID('[schema.]name'): system types and the database's table types."""
    if not isinstance(name, str):
        return exp.Null()
    parts = split_name(name)
    if not parts or len(parts) > 2:
        return exp.Null()
    s = f'"{database}"."__sys"'
    where = f"lower(t.name) = lower({_literal(parts[-1])})"
    if len(parts) == 2:
        where += f" AND lower(sc.name) = lower({_literal(parts[0])})"
    sql = (
        f"(SELECT t.user_type_id FROM {s}.sys_types t JOIN {s}.schemas sc "
        f"ON sc.schema_id = t.schema_id WHERE {where} "
        "ORDER BY t.is_user_defined LIMIT 1)"
    )
    return exp.maybe_parse(sql, dialect="duckdb")


# -- table-valued parameters ---------------------------------------------------------------


def bind_table_params(session: DuckDBSession, params: list[Param]) -> list[Param]:
    """Table-valued parameters loaded into temporary tables; other parameters unchanged."""
    if not any(isinstance(p.value, pa.Table) for p in params):
        return params
    out = []
    for p in params:
        if isinstance(p.value, pa.Table):
            p = Param(p.name, p.type, load(session, p.name, p.value), p.output)
        out.append(p)
    return out


def empty(session: DuckDBSession, param_name: str, type_name: str, level: int) -> TableValue:
    """An empty table of ``type_name`` (a table-valued parameter nobody passed)."""
    rows = pa.table({}).replace_schema_metadata({TYPE_NAME_KEY: type_name})
    return load(session, param_name, rows, level)


def load(session: DuckDBSession, param_name: str, rows: pa.Table, level: int = 0) -> TableValue:
    """``rows`` in a temporary table named after the parameter and the nesting ``level``."""
    metadata = rows.schema.metadata or {}
    type_name = metadata.get(TYPE_NAME_KEY, b"").decode()
    table_type = find(session, type_name) if type_name else None
    if table_type is None:
        raise SqlError(
            2715,
            f"Column, parameter, or variable {param_name}: Cannot find data type {type_name}.",
        )
    if rows.num_columns not in (0, len(table_type.columns)):  # 0: a NULL (empty) table
        raise SqlError(
            8047,
            f"The incoming tabular data stream (TDS) remote procedure call (RPC) protocol "
            f"stream is incorrect. Table-valued parameter {param_name}, to a parameterized "
            f"string has an incorrect number of columns ({rows.num_columns}).",
        )
    relation = f"__tvp{level}_" + re.sub(r"\W", "_", param_name.lstrip("@").lower())
    declared = ", ".join(f'"{c.name}" {sqltypes.duckdb_type(c.type)}' for c in table_type.columns)
    session.ddl_statement(f'CREATE OR REPLACE TEMP TABLE "{relation}" ({declared})')
    if rows.num_rows and rows.num_columns:
        renamed = rows.rename_columns([f"c{i}" for i in range(rows.num_columns)])
        values = ", ".join(
            conversions.cast_expr(f'__ct_keys."c{i}"', c.type, _duck_type(field.type))
            for i, (c, field) in enumerate(zip(table_type.columns, renamed.schema, strict=True))
        )
        session.run_with_arrow(f'INSERT INTO "{relation}" SELECT {values} FROM __ct_keys', renamed)
    return TableValue(relation)


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_decimal(arrow_type):
        return "DECIMAL"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BLOB"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_time(arrow_type):
        return "TIME"
    return ""


def table_reference(variables: dict[str, Any], node: exp.Table) -> exp.Expression | None:
    """``FROM @tvp`` as the temporary table holding the variable's rows, else None."""
    placeholder = node.this
    if not isinstance(placeholder, exp.Placeholder | exp.Parameter):
        return None
    value = variables.get(placeholder.name.lower())
    if not isinstance(value, TableValue):
        return None
    alias = node.alias or placeholder.name
    return exp.Table(
        this=exp.to_identifier(value.relation, quoted=True),
        alias=exp.TableAlias(this=exp.to_identifier(alias)),
    )
