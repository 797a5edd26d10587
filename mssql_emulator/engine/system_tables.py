"""The ``__sys`` schema of each database: catalog rows DuckDB can join like any table."""

from __future__ import annotations

import datetime
from typing import Any

import pyarrow as pa

from mssql_emulator.contract import (
    CLR_MAX_LENGTHS,
    CLR_SYSTEM_TYPE_ID,
    CLR_TYPE_IDS,
    SYSTEM_TYPE_IDS,
    SqlType,
)
from mssql_emulator.engine import foreign_keys, routine_catalog, sqltypes
from mssql_emulator.engine.catalog import ColumnDef, DatabaseCatalog, IndexDef, TableDef

META_TABLES = {
    "schemas": "schema_id INTEGER, name VARCHAR, principal_id INTEGER",
    "objects": (
        "object_id INTEGER, name VARCHAR, schema_id INTEGER, parent_object_id INTEGER, "
        "type VARCHAR, type_desc VARCHAR, create_date TIMESTAMP, modify_date TIMESTAMP"
    ),
    "columns": (
        "object_id INTEGER, column_id INTEGER, name VARCHAR, type_name VARCHAR, "
        "system_type_id INTEGER, max_length SMALLINT, precision INTEGER, scale INTEGER, "
        "is_nullable BOOLEAN, is_identity BOOLEAN, seed_value BIGINT, increment_value BIGINT, "
        "default_definition VARCHAR, char_max_length INTEGER, char_octet_length INTEGER, "
        "numeric_precision INTEGER, numeric_radix INTEGER, numeric_scale INTEGER, "
        "datetime_precision INTEGER, collation_name VARCHAR, charset_name VARCHAR"
    ),
    "indexes": (
        "object_id INTEGER, name VARCHAR, index_id INTEGER, type INTEGER, type_desc VARCHAR, "
        "is_unique BOOLEAN, is_primary_key BOOLEAN, is_unique_constraint BOOLEAN"
    ),
    "index_columns": (
        "object_id INTEGER, index_id INTEGER, index_column_id INTEGER, column_id INTEGER, "
        "key_ordinal INTEGER, is_descending_key BOOLEAN, is_included_column BOOLEAN"
    ),
    "views": "object_id INTEGER, definition VARCHAR",
    "ct_tables": (
        "object_id INTEGER, begin_version BIGINT, min_valid_version BIGINT, "
        "cleanup_version BIGINT, track_columns BOOLEAN"
    ),
    "ct_database": (
        "enabled BOOLEAN, retention_period INTEGER, retention_units UTINYINT, "
        "auto_cleanup BOOLEAN, max_cleanup_version BIGINT"
    ),
    "ct_commits": "txn BIGINT, version BIGINT, commit_time TIMESTAMP",
    "database_options": "allow_snapshot_isolation BOOLEAN",
    **routine_catalog.META_TABLES,
    **foreign_keys.META_TABLES,
}

_TYPES_ROWS = [
    (name, tid, tid, sqltypes.max_length(sqltypes.parse_type(name)), False)
    for name, tid in SYSTEM_TYPE_IDS.items()
    if name not in ("image", "text", "ntext", "sysname", "timestamp")
] + [
    (name, CLR_SYSTEM_TYPE_ID, uid, CLR_MAX_LENGTHS[name], True)
    for name, uid in CLR_TYPE_IDS.items()
]


def _system_type_id(t: SqlType) -> int:
    return CLR_SYSTEM_TYPE_ID if sqltypes.is_clr(t) else SYSTEM_TYPE_IDS[t.name]


_CLR_USER_TYPE_IDS = " ".join(f"WHEN '{name}' THEN {uid}" for name, uid in CLR_TYPE_IDS.items())

COLLATION = "SQL_Latin1_General_CP1_CI_AS"


def _views(db: str) -> dict[str, str]:
    s = f'"{db}"."__sys"'
    q = "'" + db.replace("'", "''") + "'"
    types_values = ", ".join(
        f"('{n}', {tid}, {uid}, {ml}, {str(clr).lower()})" for n, tid, uid, ml, clr in _TYPES_ROWS
    )
    return {
        "sys_schemas": f"SELECT name, schema_id, principal_id FROM {s}.schemas",
        "sys_objects": (
            "SELECT name, object_id, CAST(NULL AS INTEGER) AS principal_id, schema_id, "
            "parent_object_id, type, type_desc, create_date, modify_date, "
            "false AS is_ms_shipped, false AS is_published, false AS is_schema_published "
            f"FROM {s}.objects"
        ),
        "sys_tables": (
            "SELECT name, object_id, CAST(NULL AS INTEGER) AS principal_id, schema_id, "
            "parent_object_id, type, type_desc, create_date, modify_date, "
            "false AS is_ms_shipped, false AS is_published, false AS is_schema_published, "
            "0 AS lob_data_space_id, false AS is_tracked_by_cdc, 0 AS temporal_type, "
            "'NON_TEMPORAL_TABLE' AS temporal_type_desc, false AS is_memory_optimized, "
            "false AS is_external, false AS is_node, false AS is_edge "
            f"FROM {s}.objects WHERE type = 'U'"
        ),
        "sys_views": (
            "SELECT name, object_id, CAST(NULL AS INTEGER) AS principal_id, schema_id, "
            "parent_object_id, type, type_desc, create_date, modify_date, "
            f"false AS is_ms_shipped FROM {s}.objects WHERE type = 'V'"
        ),
        "sys_columns": (
            "SELECT object_id, name, column_id, system_type_id, "
            f"CASE type_name {_CLR_USER_TYPE_IDS} ELSE system_type_id END AS user_type_id, "
            "max_length, precision, scale, collation_name, is_nullable, false AS is_ansi_padded, "
            "false AS is_rowguidcol, is_identity, false AS is_computed, false AS is_filestream, "
            "false AS is_replicated, false AS is_sparse, false AS is_column_set, "
            "0 AS default_object_id, 0 AS rule_object_id, false AS is_hidden, "
            "false AS is_masked, 0 AS generated_always_type "
            f"FROM {s}.columns"
        ),
        "sys_all_columns": (
            "SELECT *, CAST(NULL AS INTEGER) AS graph_type, "
            "CAST(NULL AS VARCHAR) AS graph_type_desc "
            f'FROM "{db}"."__sys".sys_columns'
        ),
        "sys_types": (
            "SELECT name, system_type_id, user_type_id, 4 AS schema_id, "
            "CAST(NULL AS INTEGER) AS principal_id, max_length, 0 AS precision, 0 AS scale, "
            "CAST(NULL AS VARCHAR) AS collation_name, true AS is_nullable, "
            "false AS is_user_defined, is_assembly_type, false AS is_table_type "
            f"FROM (VALUES {types_values}) "
            "AS t(name, system_type_id, user_type_id, max_length, is_assembly_type) "
            f"UNION ALL {routine_catalog.user_types_sql(db)}"
        ),
        "sys_indexes": (
            "SELECT object_id, name, index_id, type, type_desc, is_unique, 1 AS data_space_id, "
            "false AS ignore_dup_key, is_primary_key, is_unique_constraint, 0 AS fill_factor, "
            "false AS is_padded, false AS is_disabled, false AS is_hypothetical, "
            "true AS allow_row_locks, true AS allow_page_locks, false AS has_filter, "
            f"CAST(NULL AS VARCHAR) AS filter_definition FROM {s}.indexes"
        ),
        "sys_index_columns": f"SELECT * FROM {s}.index_columns",
        "sys_identity_columns": (
            "SELECT object_id, name, column_id, system_type_id, max_length, precision, scale, "
            "is_nullable, true AS is_identity, seed_value, increment_value, "
            "CAST(NULL AS BIGINT) AS last_value "
            f"FROM {s}.columns WHERE is_identity"
        ),
        "sys_partitions": (
            "SELECT CAST(i.object_id AS BIGINT) * 65536 + i.index_id AS partition_id, "
            "i.object_id, i.index_id, 1 AS partition_number, "
            "CAST(i.object_id AS BIGINT) * 65536 + i.index_id AS hobt_id, "
            "COALESCE(d.estimated_size, 0) AS rows, 0 AS filestream_filegroup_id, "
            "0 AS data_compression, 'NONE' AS data_compression_desc "
            f"FROM {s}.indexes i JOIN {s}.objects o ON o.object_id = i.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
            f"LEFT JOIN duckdb_tables() d ON d.database_name = {q} "
            "AND d.schema_name = sc.name AND d.table_name = o.name"
        ),
        "sys_dm_db_partition_stats": (
            "SELECT partition_id, object_id, index_id, partition_number, "
            "rows AS in_row_data_page_count, rows AS used_page_count, "
            "rows AS reserved_page_count, rows AS row_count "
            f'FROM "{db}"."__sys".sys_partitions'
        ),
        "sys_change_tracking_tables": (
            "SELECT object_id, track_columns AS is_track_columns_updated_on, min_valid_version, "
            f"begin_version, cleanup_version FROM {s}.ct_tables"
        ),
        "sys_system_views": (
            "SELECT name, -100 - row_number() OVER () AS object_id, 4 AS schema_id, "
            "'V' AS type, 'VIEW' AS type_desc, true AS is_ms_shipped FROM (VALUES "
            "('dm_exec_sessions'), ('dm_db_partition_stats'), ('tables'), ('columns'), "
            "('objects'), ('schemas'), ('types'), ('indexes'), ('index_columns'), "
            "('identity_columns'), ('partitions'), ('views'), ('change_tracking_tables'), "
            "('all_columns'), "
            "('change_tracking_databases')) AS v(name)"
        ),
        "sys_computed_columns": (
            "SELECT object_id, name, column_id, CAST(NULL AS VARCHAR) AS definition, "
            f"false AS is_persisted FROM {s}.columns WHERE false"
        ),
        "sys_default_constraints": (
            "SELECT 'DF__' || left(o.name, 8) || '__' || c.name AS name, "
            "-(o.object_id * 1000 + c.column_id) AS object_id, o.schema_id, "
            "o.object_id AS parent_object_id, c.column_id AS parent_column_id, "
            "'D' AS type, 'DEFAULT_CONSTRAINT' AS type_desc, c.default_definition AS definition "
            f"FROM {s}.columns c JOIN {s}.objects o ON o.object_id = c.object_id "
            "WHERE c.default_definition IS NOT NULL"
        ),
        "sys_key_constraints": (
            "SELECT i.name, o2.object_id, o2.schema_id, i.object_id AS parent_object_id, "
            "o2.type, o2.type_desc, i.index_id AS unique_index_id, false AS is_system_named "
            f"FROM {s}.indexes i JOIN {s}.objects o2 ON o2.parent_object_id = i.object_id "
            "AND o2.name = i.name WHERE i.is_primary_key OR i.is_unique_constraint"
        ),
        "sys_extended_properties": (
            "SELECT 0 AS class, 'OBJECT_OR_COLUMN' AS class_desc, 0 AS major_id, "
            "0 AS minor_id, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS VARCHAR) AS value "
            "WHERE false"
        ),
        **routine_catalog.views(db),
        "is_schemata": (
            f"SELECT {q} AS CATALOG_NAME, name AS SCHEMA_NAME, 'dbo' AS SCHEMA_OWNER, "
            "CAST(NULL AS VARCHAR) AS DEFAULT_CHARACTER_SET_CATALOG, "
            "CAST(NULL AS VARCHAR) AS DEFAULT_CHARACTER_SET_SCHEMA, "
            f"'iso_1' AS DEFAULT_CHARACTER_SET_NAME FROM {s}.schemas"
        ),
        "is_tables": (
            f"SELECT {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, o.name AS TABLE_NAME, "
            "CASE o.type WHEN 'U' THEN 'BASE TABLE' ELSE 'VIEW' END AS TABLE_TYPE "
            f"FROM {s}.objects o JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
            "WHERE o.type IN ('U', 'V')"
        ),
        "is_columns": (
            f"SELECT {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, o.name AS TABLE_NAME, "
            "c.name AS COLUMN_NAME, c.column_id AS ORDINAL_POSITION, "
            "c.default_definition AS COLUMN_DEFAULT, "
            "CASE WHEN c.is_nullable THEN 'YES' ELSE 'NO' END AS IS_NULLABLE, "
            "c.type_name AS DATA_TYPE, c.char_max_length AS CHARACTER_MAXIMUM_LENGTH, "
            "c.char_octet_length AS CHARACTER_OCTET_LENGTH, "
            "c.numeric_precision AS NUMERIC_PRECISION, "
            "c.numeric_radix AS NUMERIC_PRECISION_RADIX, c.numeric_scale AS NUMERIC_SCALE, "
            "c.datetime_precision AS DATETIME_PRECISION, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_CATALOG, "
            "CAST(NULL AS VARCHAR) AS CHARACTER_SET_SCHEMA, c.charset_name AS CHARACTER_SET_NAME, "
            "CAST(NULL AS VARCHAR) AS COLLATION_CATALOG, "
            "CAST(NULL AS VARCHAR) AS COLLATION_SCHEMA, c.collation_name AS COLLATION_NAME, "
            "CAST(NULL AS VARCHAR) AS DOMAIN_CATALOG, CAST(NULL AS VARCHAR) AS DOMAIN_SCHEMA, "
            "CAST(NULL AS VARCHAR) AS DOMAIN_NAME "
            f"FROM {s}.columns c JOIN {s}.objects o ON o.object_id = c.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id"
        ),
        "is_views": (
            f"SELECT {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, o.name AS TABLE_NAME, "
            "v.definition AS VIEW_DEFINITION, 'NONE' AS CHECK_OPTION, 'NO' AS IS_UPDATABLE "
            f"FROM {s}.views v JOIN {s}.objects o ON o.object_id = v.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id"
        ),
        "is_table_constraints": (
            f"SELECT {q} AS CONSTRAINT_CATALOG, sc.name AS CONSTRAINT_SCHEMA, "
            f"i.name AS CONSTRAINT_NAME, {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, "
            "o.name AS TABLE_NAME, "
            "CASE WHEN i.is_primary_key THEN 'PRIMARY KEY' ELSE 'UNIQUE' END AS CONSTRAINT_TYPE, "
            "'NO' AS IS_DEFERRABLE, 'NO' AS INITIALLY_DEFERRED "
            f"FROM {s}.indexes i JOIN {s}.objects o ON o.object_id = i.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
            "WHERE i.is_primary_key OR i.is_unique_constraint "
            f"UNION ALL {foreign_keys.table_constraints_sql(db)}"
        ),
        **foreign_keys.views(db),
        "is_key_column_usage": (
            f"SELECT {q} AS CONSTRAINT_CATALOG, sc.name AS CONSTRAINT_SCHEMA, "
            f"i.name AS CONSTRAINT_NAME, {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, "
            "o.name AS TABLE_NAME, c.name AS COLUMN_NAME, ic.key_ordinal AS ORDINAL_POSITION "
            f"FROM {s}.indexes i JOIN {s}.objects o ON o.object_id = i.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
            f"JOIN {s}.index_columns ic ON ic.object_id = i.object_id "
            "AND ic.index_id = i.index_id "
            f"JOIN {s}.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
            "WHERE i.is_primary_key OR i.is_unique_constraint "
            f"UNION ALL {foreign_keys.key_column_usage_sql(db)}"
        ),
    }


def create_statements(db: str) -> list[str]:
    """DDL creating the ``__sys`` schema, its tables and its views in ``db``."""
    out = [f'CREATE SCHEMA IF NOT EXISTS "{db}"."__sys"']
    out += [
        f'CREATE TABLE IF NOT EXISTS "{db}"."__sys".{name} ({cols})'
        for name, cols in META_TABLES.items()
    ]
    out += [
        f'CREATE OR REPLACE VIEW "{db}"."__sys".{name} AS {body}'
        for name, body in _views(db).items()
    ]
    return out


def catalog_view(schema: str, name: str) -> str | None:
    """The ``__sys`` view answering ``sys.<name>`` or ``INFORMATION_SCHEMA.<name>``."""
    prefix = {"sys": "sys_", "information_schema": "is_"}.get(schema.lower())
    if prefix is None:
        return None
    view = prefix + name.lower()
    return view if view in _VIEW_NAMES else None


_VIEW_NAMES = set(_views("x"))


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _values(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join("(" + ", ".join(_sql_literal(v) for v in row) + ")" for row in rows)


def column_row(object_id: int, column_id: int, col: ColumnDef) -> tuple[Any, ...]:
    t: SqlType = col.type
    is_char = sqltypes.is_string(t) or sqltypes.is_binary(t)
    char_len = t.length if is_char else None
    octet = None
    if is_char and t.length is not None:
        octet = -1 if t.length == -1 else (t.length * 2 if t.name.startswith("n") else t.length)
    if sqltypes.is_clr(t):
        char_len = octet = sqltypes.max_length(t)
    numeric = t.name in (
        "tinyint",
        "smallint",
        "int",
        "bigint",
        "decimal",
        "numeric",
        "money",
        "smallmoney",
        "real",
        "float",
    )
    dt_precision = None
    if t.name in ("time", "datetime2", "datetimeoffset"):
        dt_precision = t.scale
    elif t.name == "datetime":
        dt_precision = 3
    elif t.name in ("date", "smalldatetime"):
        dt_precision = 0
    seed, inc = col.identity if col.identity else (None, None)
    return (
        object_id,
        column_id,
        col.name,
        t.name,
        _system_type_id(t),
        sqltypes.max_length(t),
        sqltypes.numeric_precision(t),
        sqltypes.numeric_scale(t),
        col.nullable,
        col.identity is not None,
        seed,
        inc,
        f"({col.default})" if col.default is not None else None,
        char_len,
        octet,
        sqltypes.numeric_precision(t) if numeric else None,
        (2 if t.name in ("real", "float") else 10) if numeric else None,
        None if not numeric or t.name in ("real", "float") else sqltypes.numeric_scale(t),
        dt_precision,
        COLLATION if sqltypes.is_collated(t) else None,
        ("UNICODE" if t.name.startswith("n") else "iso_1") if sqltypes.is_string(t) else None,
    )


def object_rows(catalog: DatabaseCatalog, table: TableDef) -> dict[str, list[tuple[Any, ...]]]:
    """Rows mirroring a new table or view into the ``__sys`` tables, by table name."""
    schema_id = catalog.schema_id(table.schema)
    type_desc = "USER_TABLE" if table.kind == "U" else "VIEW"
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    objects: list[tuple[Any, ...]] = [
        (table.object_id, table.name, schema_id, 0, table.kind, type_desc, now, now)
    ]
    indexes: list[tuple[Any, ...]] = []
    index_columns: list[tuple[Any, ...]] = []
    col_ids = {c.name.lower(): i + 1 for i, c in enumerate(table.columns)}
    if table.kind == "U":
        if not any(ix.clustered for ix in table.indexes):
            indexes.append((table.object_id, None, 0, 0, "HEAP", False, False, False))
        for ix in table.indexes:
            indexes.append(index_row(table.object_id, ix))
            index_columns += index_column_rows(table.object_id, ix, col_ids)
            if ix.constraint_id is not None:
                kind = "PK" if ix.primary_key else "UQ"
                desc = "PRIMARY_KEY_CONSTRAINT" if ix.primary_key else "UNIQUE_CONSTRAINT"
                objects.append(
                    (ix.constraint_id, ix.name, schema_id, table.object_id, kind, desc, now, now)
                )
    rows: dict[str, list[tuple[Any, ...]]] = {
        "objects": objects,
        "columns": [column_row(table.object_id, i + 1, c) for i, c in enumerate(table.columns)],
        "indexes": indexes,
        "index_columns": index_columns,
    }
    if table.definition is not None and table.kind == "V":
        rows["views"] = [(table.object_id, table.definition)]
        rows["modules"] = [(table.object_id, table.definition)]  # sys.sql_modules has views
    return rows


_ARROW_TYPES = {
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
    "SMALLINT": pa.int16(),
    "TIMESTAMP": pa.timestamp("us"),
}


def arrow_rows(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
    """``rows`` of ``__sys.<name>`` as an Arrow table with that table's column types."""
    fields = []
    for part in META_TABLES[name].split(", "):
        col, duck = part.split(" ", 1)
        fields.append(pa.field(col, _ARROW_TYPES[duck]))
    schema = pa.schema(fields)
    columns: list[list[Any]] = [[row[i] for row in rows] for i in range(len(fields))]
    return pa.table(
        [pa.array(c, f.type) for c, f in zip(columns, fields, strict=True)], schema=schema
    )


def insert_statements(db: str, rows: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    """INSERTs of ``__sys`` rows, at most 500 rows per statement."""
    out = []
    for name, values in rows.items():
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            out.append(f'INSERT INTO "{db}"."__sys".{name} VALUES {_values(chunk)}')
    return out


def index_row(object_id: int, ix: IndexDef) -> tuple[Any, ...]:
    return (
        object_id,
        ix.name,
        ix.index_id,
        1 if ix.clustered else 2,
        "CLUSTERED" if ix.clustered else "NONCLUSTERED",
        ix.unique,
        ix.primary_key,
        ix.unique_constraint,
    )


def index_column_rows(
    object_id: int, ix: IndexDef, col_ids: dict[str, int]
) -> list[tuple[Any, ...]]:
    return [
        (object_id, ix.index_id, n + 1, col_ids[name.lower()], n + 1, desc, False)
        for n, (name, desc) in enumerate(ix.columns)
    ]


def insert_index_statements(db: str, table: TableDef, ix: IndexDef) -> list[str]:
    s = f'"{db}"."__sys"'
    col_ids = {c.name.lower(): i + 1 for i, c in enumerate(table.columns)}
    return [
        f"INSERT INTO {s}.indexes VALUES {_values([index_row(table.object_id, ix)])}",
        f"INSERT INTO {s}.index_columns VALUES "
        f"{_values(index_column_rows(table.object_id, ix, col_ids))}",
    ]


def delete_object_statements(db: str, object_id: int) -> list[str]:
    s = f'"{db}"."__sys"'
    return [
        f"DELETE FROM {s}.objects WHERE object_id = {object_id} OR parent_object_id = {object_id}",
        f"DELETE FROM {s}.columns WHERE object_id = {object_id}",
        f"DELETE FROM {s}.indexes WHERE object_id = {object_id}",
        f"DELETE FROM {s}.index_columns WHERE object_id = {object_id}",
        f"DELETE FROM {s}.views WHERE object_id = {object_id}",
        f"DELETE FROM {s}.modules WHERE object_id = {object_id}",
        *foreign_keys.delete_statements(db, object_id),
        f"DELETE FROM {s}.ct_tables WHERE object_id = {object_id}",
    ]


def insert_schema_statement(db: str, schema_id: int, name: str) -> str:
    return f'INSERT INTO "{db}"."__sys".schemas VALUES {_values([(schema_id, name, 1)])}'
