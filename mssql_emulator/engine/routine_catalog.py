"""Catalog rows and views of procedures and user-defined table types.

A procedure is a ``TableDef`` of kind 'P' in the database catalog (so OBJECT_ID and the
one-name-per-schema rule hold for it) whose ``definition`` is its CREATE text; ``__sys``
keeps its ``sys.objects`` row, its text (``modules``) and its parameters. Table types
live only in ``__sys.user_types`` and are read from there when used.
"""

from __future__ import annotations

import datetime
from typing import Any

from mssql_emulator.engine.catalog import ColumnDef, DatabaseCatalog, TableDef
from mssql_emulator.engine.procedure_text import ProcedureParam

TABLE_TYPE_ID = 243  # sys.types.system_type_id of every table type
FIRST_USER_TYPE_ID = 257

_PARAMETER_COLUMNS = (
    "object_id INTEGER, column_id INTEGER, name VARCHAR, type_name VARCHAR, "
    "system_type_id INTEGER, max_length SMALLINT, precision INTEGER, scale INTEGER, "
    "is_nullable BOOLEAN, is_identity BOOLEAN, seed_value BIGINT, increment_value BIGINT, "
    "default_definition VARCHAR, char_max_length INTEGER, char_octet_length INTEGER, "
    "numeric_precision INTEGER, numeric_radix INTEGER, numeric_scale INTEGER, "
    "datetime_precision INTEGER, collation_name VARCHAR, charset_name VARCHAR, "
    "is_output BOOLEAN, is_readonly BOOLEAN"
)

META_TABLES = {
    "modules": "object_id INTEGER, definition VARCHAR",
    "parameters": _PARAMETER_COLUMNS,
    "user_types": (
        "user_type_id INTEGER, name VARCHAR, schema_id INTEGER, "
        "type_table_object_id INTEGER, definition VARCHAR"
    ),
}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def parameter_rows(object_id: int, params: list[ProcedureParam]) -> list[tuple[Any, ...]]:
    """``__sys.parameters`` rows: ``__sys.columns``' shape plus is_output and is_readonly."""
    from mssql_emulator.engine.system_tables import column_row

    rows: list[tuple[Any, ...]] = []
    for position, param in enumerate(params, start=1):
        name = "@" + param.name
        if param.type is None:
            rows.append(
                (object_id, position, name, param.table_type, TABLE_TYPE_ID, -1, 0, 0, True)
                + (False, None, None, None)
                + (None,) * 8
                + (False, True)
            )
            continue
        column = column_row(object_id, position, ColumnDef(name, param.type, True))
        rows.append((*column[:12], param.default, *column[13:], param.output, False))
    return rows


def procedure_rows(
    catalog: DatabaseCatalog, proc: TableDef, params: list[ProcedureParam]
) -> dict[str, list[tuple[Any, ...]]]:
    now = _now()
    schema_id = catalog.schema_id(proc.schema)
    return {
        "objects": [
            (proc.object_id, proc.name, schema_id, 0, "P", "SQL_STORED_PROCEDURE", now, now)
        ],
        "modules": [(proc.object_id, proc.definition)],
        "parameters": parameter_rows(proc.object_id, params),
    }


def delete_procedure_statements(db: str, object_id: int, *, keep_object: bool) -> list[str]:
    s = f'"{db}"."__sys"'
    out = [
        f"DELETE FROM {s}.modules WHERE object_id = {object_id}",
        f"DELETE FROM {s}.parameters WHERE object_id = {object_id}",
    ]
    if keep_object:
        out.append(
            f"UPDATE {s}.objects SET modify_date = TIMESTAMP '{_now().isoformat(sep=' ')}' "
            f"WHERE object_id = {object_id}"
        )
    else:
        out.append(f"DELETE FROM {s}.objects WHERE object_id = {object_id}")
    return out


def views(db: str) -> dict[str, str]:
    """``__sys`` views answering sys.procedures, sys.parameters, INFORMATION_SCHEMA.ROUTINES …"""
    s = f'"{db}"."__sys"'
    q = "'" + db.replace("'", "''") + "'"
    return {
        "sys_procedures": (
            "SELECT name, object_id, CAST(NULL AS INTEGER) AS principal_id, schema_id, "
            "parent_object_id, type, type_desc, create_date, modify_date, "
            "false AS is_ms_shipped, false AS is_published, false AS is_schema_published, "
            "false AS is_auto_executed, false AS is_execution_replicated, "
            "false AS is_repl_serializable_only, false AS skips_repl_constraints "
            f"FROM {s}.objects WHERE type = 'P'"
        ),
        "sys_sql_modules": (
            "SELECT object_id, definition, true AS uses_ansi_nulls, "
            "true AS uses_quoted_identifier, false AS is_schema_bound, "
            "false AS uses_database_collation, false AS is_recompiled, "
            "false AS null_on_null_input, CAST(NULL AS INTEGER) AS execute_as_principal_id, "
            "false AS uses_native_compilation "
            f"FROM {s}.modules"
        ),
        "sys_parameters": (
            "SELECT object_id, name, column_id AS parameter_id, system_type_id, "
            "system_type_id AS user_type_id, max_length, precision, scale, is_output, "
            "false AS is_cursor_ref, default_definition IS NOT NULL AS has_default_value, "
            "false AS is_xml_document, CAST(NULL AS VARCHAR) AS default_value, "
            "0 AS xml_collection_id, is_readonly, true AS is_nullable, "
            "CAST(NULL AS INTEGER) AS encryption_type "
            f"FROM {s}.parameters"
        ),
        "sys_table_types": (
            "SELECT name, 243 AS system_type_id, user_type_id, schema_id, "
            "CAST(NULL AS INTEGER) AS principal_id, -1 AS max_length, 0 AS precision, "
            "0 AS scale, CAST(NULL AS VARCHAR) AS collation_name, false AS is_nullable, "
            "true AS is_user_defined, false AS is_assembly_type, 0 AS default_object_id, "
            "0 AS rule_object_id, true AS is_table_type, type_table_object_id, "
            f"false AS is_memory_optimized FROM {s}.user_types"
        ),
        "is_routines": (
            f"SELECT {q} AS SPECIFIC_CATALOG, sc.name AS SPECIFIC_SCHEMA, "
            f"o.name AS SPECIFIC_NAME, {q} AS ROUTINE_CATALOG, sc.name AS ROUTINE_SCHEMA, "
            "o.name AS ROUTINE_NAME, 'PROCEDURE' AS ROUTINE_TYPE, "
            "CAST(NULL AS VARCHAR) AS MODULE_CATALOG, CAST(NULL AS VARCHAR) AS MODULE_SCHEMA, "
            "CAST(NULL AS VARCHAR) AS MODULE_NAME, CAST(NULL AS VARCHAR) AS UDT_CATALOG, "
            "CAST(NULL AS VARCHAR) AS UDT_SCHEMA, CAST(NULL AS VARCHAR) AS UDT_NAME, "
            "CAST(NULL AS VARCHAR) AS DATA_TYPE, "
            "CAST(NULL AS INTEGER) AS CHARACTER_MAXIMUM_LENGTH, "
            "CAST(NULL AS INTEGER) AS CHARACTER_OCTET_LENGTH, "
            "CAST(NULL AS VARCHAR) AS COLLATION_CATALOG, "
            "CAST(NULL AS VARCHAR) AS COLLATION_SCHEMA, CAST(NULL AS VARCHAR) AS COLLATION_NAME, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_CATALOG, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_SCHEMA, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_NAME, "
            "CAST(NULL AS UTINYINT) AS NUMERIC_PRECISION, "
            "CAST(NULL AS SMALLINT) AS NUMERIC_PRECISION_RADIX, "
            "CAST(NULL AS INTEGER) AS NUMERIC_SCALE, "
            "CAST(NULL AS SMALLINT) AS DATETIME_PRECISION, "
            "CAST(NULL AS VARCHAR) AS INTERVAL_TYPE, "
            "CAST(NULL AS SMALLINT) AS INTERVAL_PRECISION, "
            "'SQL' AS ROUTINE_BODY, left(m.definition, 4000) AS ROUTINE_DEFINITION, "
            "'NO' AS IS_DETERMINISTIC, 'MODIFIES' AS SQL_DATA_ACCESS, "
            "'NO' AS IS_NULL_CALL, 'NO' AS IS_IMPLICITLY_INVOCABLE, "
            "'NO' AS IS_USER_DEFINED_CAST, 0 AS MAX_DYNAMIC_RESULT_SETS, "
            "o.create_date AS CREATED, o.modify_date AS LAST_ALTERED "
            f"FROM {s}.objects o JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
            f"LEFT JOIN {s}.modules m ON m.object_id = o.object_id WHERE o.type = 'P'"
        ),
        "is_parameters": (
            f"SELECT {q} AS SPECIFIC_CATALOG, sc.name AS SPECIFIC_SCHEMA, "
            "o.name AS SPECIFIC_NAME, p.column_id AS ORDINAL_POSITION, "
            "CASE WHEN p.is_output THEN 'INOUT' ELSE 'IN' END AS PARAMETER_MODE, "
            "'NO' AS IS_RESULT, 'NO' AS AS_LOCATOR, p.name AS PARAMETER_NAME, "
            "CASE WHEN p.system_type_id = 243 THEN 'table type' ELSE p.type_name END "
            "AS DATA_TYPE, p.char_max_length AS CHARACTER_MAXIMUM_LENGTH, "
            "p.char_octet_length AS CHARACTER_OCTET_LENGTH, "
            "CAST(NULL AS VARCHAR) AS COLLATION_CATALOG, "
            "CAST(NULL AS VARCHAR) AS COLLATION_SCHEMA, p.collation_name AS COLLATION_NAME, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_CATALOG, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_SCHEMA, "
            "p.charset_name AS CHARACTER_SET_NAME, p.numeric_precision AS NUMERIC_PRECISION, "
            "p.numeric_radix AS NUMERIC_PRECISION_RADIX, p.numeric_scale AS NUMERIC_SCALE, "
            "p.datetime_precision AS DATETIME_PRECISION, "
            "CAST(NULL AS VARCHAR) AS INTERVAL_TYPE, "
            "CAST(NULL AS SMALLINT) AS INTERVAL_PRECISION, "
            "CASE WHEN p.system_type_id = 243 THEN "
            f"{q} END AS USER_DEFINED_TYPE_CATALOG, "
            "CASE WHEN p.system_type_id = 243 THEN split_part(p.type_name, '.', 1) END "
            "AS USER_DEFINED_TYPE_SCHEMA, "
            "CASE WHEN p.system_type_id = 243 THEN split_part(p.type_name, '.', 2) END "
            "AS USER_DEFINED_TYPE_NAME, "
            "CAST(NULL AS VARCHAR) AS SCOPE_CATALOG, CAST(NULL AS VARCHAR) AS SCOPE_SCHEMA, "
            "CAST(NULL AS VARCHAR) AS SCOPE_NAME "
            f"FROM {s}.parameters p JOIN {s}.objects o ON o.object_id = p.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id"
        ),
    }


def user_types_sql(db: str) -> str:
    """Rows of the database's table types shaped like ``sys.types`` (for its UNION)."""
    s = f'"{db}"."__sys"'
    return (
        "SELECT name, 243 AS system_type_id, user_type_id, schema_id, "
        "CAST(NULL AS INTEGER) AS principal_id, -1 AS max_length, 0 AS precision, 0 AS scale, "
        "CAST(NULL AS VARCHAR) AS collation_name, false AS is_nullable, "
        "true AS is_user_defined, false AS is_assembly_type, true AS is_table_type "
        f"FROM {s}.user_types"
    )
