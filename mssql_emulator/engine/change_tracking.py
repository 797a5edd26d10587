"""Change Tracking: per-table change logs stamped with a version at commit."""

from __future__ import annotations

from mssql_emulator.engine import sqltypes
from mssql_emulator.engine.catalog import DatabaseCatalog, TableDef


def log_table(db: str, table: TableDef) -> str:
    return f'"{db}"."__sys"."ct_{table.object_id}"'


def key_columns(table: TableDef) -> list[str]:
    pk = table.primary_key
    return [name for name, _ in pk.columns] if pk else []


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def enable_statements(db: str, table: TableDef, version: int) -> list[str]:
    cols = []
    for name in key_columns(table):
        col = table.column(name)
        assert col is not None
        cols.append(f"{_q(col.name)} {sqltypes.duckdb_type(col.type)}")
    cols += ["__version BIGINT", "__op VARCHAR"]
    return [
        f"CREATE TABLE {log_table(db, table)} ({', '.join(cols)})",
        f'INSERT INTO "{db}"."__sys".ct_tables VALUES ({table.object_id}, {version}, {version})',
    ]


def disable_statements(db: str, table: TableDef) -> list[str]:
    return [
        f"DROP TABLE IF EXISTS {log_table(db, table)}",
        f'DELETE FROM "{db}"."__sys".ct_tables WHERE object_id = {table.object_id}',
    ]


def record_sql(db: str, table: TableDef, op: str) -> str:
    """INSERT of changed keys (registered as the Arrow view ``__ct_keys``), version pending."""
    keys = ", ".join(_q(k) for k in key_columns(table))
    return f"INSERT INTO {log_table(db, table)} SELECT {keys}, NULL, '{op}' FROM __ct_keys"


def stamp_sql(db: str, table: TableDef, version: int) -> str:
    return f"UPDATE {log_table(db, table)} SET __version = {version} WHERE __version IS NULL"


def changes_sql(db: str, table: TableDef, catalog: DatabaseCatalog, since: str) -> str:
    """The body of ``CHANGETABLE(CHANGES table, since)``."""
    keys = ", ".join(_q(k) for k in key_columns(table))
    return (
        "SELECT max(__version) AS SYS_CHANGE_VERSION, "
        "max(CASE WHEN __op = 'I' THEN __version END) AS SYS_CHANGE_CREATION_VERSION, "
        "CASE WHEN arg_max(__op, __version) = 'D' THEN 'D' "
        "WHEN bool_or(__op = 'I') THEN 'I' ELSE 'U' END AS SYS_CHANGE_OPERATION, "
        "CAST(NULL AS BLOB) AS SYS_CHANGE_COLUMNS, CAST(NULL AS BLOB) AS SYS_CHANGE_CONTEXT, "
        f"{keys} FROM {log_table(db, table)} "
        f"WHERE __version > COALESCE(({since}), 0) GROUP BY {keys}"
    )
