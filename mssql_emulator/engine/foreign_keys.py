"""FOREIGN KEY constraints: parsed from CREATE TABLE, kept in ``__sys``, shown by catalogs.

Foreign keys are recorded as SQL Server records them (``sys.foreign_keys``,
``sys.foreign_key_columns``, ``INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS`` and their rows
in ``KEY_COLUMN_USAGE``/``TABLE_CONSTRAINTS``) so tools can reflect them. DuckDB is not told
about them: the emulator enforces them itself when rows change (``foreign_key_checks``), on
the ``ForeignKeyDef`` lists of each ``TableDef``, which CREATE TABLE fills here and which are
loaded back from ``__sys`` when a catalog is rebuilt. Bulk loads are not checked, as in
SQL Server without ``CHECK_CONSTRAINTS``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import foreign_key_checks
from mssql_emulator.engine.catalog import DatabaseCatalog, ForeignKeyDef, TableDef

if TYPE_CHECKING:
    from mssql_emulator.engine.translate import Translator

META_TABLES = {
    "foreign_keys": (
        "object_id INTEGER, name VARCHAR, parent_object_id INTEGER, "
        "referenced_object_id INTEGER, key_index_id INTEGER, delete_action SMALLINT, "
        "update_action SMALLINT"
    ),
    "foreign_key_columns": (
        "constraint_object_id INTEGER, constraint_column_id INTEGER, parent_object_id INTEGER, "
        "parent_column_id INTEGER, referenced_object_id INTEGER, referenced_column_id INTEGER"
    ),
}
# sys.foreign_keys.delete_referential_action codes and their descriptions.
ACTIONS = {"NO ACTION": 0, "CASCADE": 1, "SET NULL": 2, "SET DEFAULT": 3}


@dataclass
class ForeignKeySpec:
    """``[CONSTRAINT name] FOREIGN KEY (columns) REFERENCES table [(columns)] [ON …]``."""

    name: str | None
    columns: list[str]
    referenced: list[str]
    referenced_columns: list[str] = field(default_factory=list)
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def rows(
    catalog: DatabaseCatalog,
    table: TableDef,
    specs: list[ForeignKeySpec],
    resolve: Callable[[list[str]], TableDef],
) -> dict[str, list[tuple[Any, ...]]]:
    """``__sys`` rows for ``table``'s foreign keys (objects, foreign_keys, their columns)."""
    out: dict[str, list[tuple[Any, ...]]] = {
        "objects": [],
        "foreign_keys": [],
        "foreign_key_columns": [],
    }
    schema_id = catalog.schema_id(table.schema)
    now = _now()
    # A table being created is referenced by nothing but itself.
    table.foreign_keys, table.referenced_by = [], []
    for spec in specs:
        target = resolve(spec.referenced)
        name = spec.name or (
            f"FK__{table.name[:8]}__{spec.columns[0][:8]}__{catalog.new_object_id():016X}"
        )
        for ref in spec.referenced_columns:
            _column_id(target, ref, target.name, fk=name)
        key = _referenced_key(target, spec, name)
        ref_columns = [c for c, _ in key.columns] if not spec.referenced_columns else None
        ref_names = spec.referenced_columns or ref_columns or []
        if len(ref_names) != len(spec.columns):
            raise SqlError(
                8140,
                f"More than one key specified in column level FOREIGN KEY constraint, "
                f"table '{table.name}'.",
            )
        oid = catalog.new_object_id()
        out["objects"].append(
            (oid, name, schema_id, table.object_id, "F", "FOREIGN_KEY_CONSTRAINT", now, now)
        )
        out["foreign_keys"].append(
            (
                oid,
                name,
                table.object_id,
                target.object_id,
                key.index_id,
                ACTIONS[spec.on_delete],
                ACTIONS[spec.on_update],
            )
        )
        for position, (col, ref) in enumerate(zip(spec.columns, ref_names, strict=True), 1):
            out["foreign_key_columns"].append(
                (
                    oid,
                    position,
                    table.object_id,
                    _column_id(table, col, table.name),
                    target.object_id,
                    _column_id(target, ref, target.name, fk=name),
                )
            )
        _register(table, target, name, spec, ref_names)
    return out


def _register(
    table: TableDef, target: TableDef, name: str, spec: ForeignKeySpec, ref_names: list[str]
) -> None:
    key = ForeignKeyDef(
        name,
        table.object_id,
        tuple(_column_name(table, c) for c in spec.columns),
        target.object_id,
        tuple(_column_name(target, c) for c in ref_names),
        ACTIONS[spec.on_delete],
        ACTIONS[spec.on_update],
    )
    foreign_key_checks.register(table, target, key)


def _column_name(table: TableDef, name: str) -> str:
    col = table.column(name)
    return col.name if col is not None else name


def resolver(translator: Translator, table: TableDef) -> Callable[[list[str]], TableDef]:
    """Finds a referenced table: ``table`` itself (a self-reference) or an existing one."""

    def resolve(parts: list[str]) -> TableDef:
        schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
        if parts[-1].lower() == table.name.lower() and schema.lower() == table.schema.lower():
            return table
        try:
            return translator.resolve_table(parts, ".".join(parts))[2]
        except SqlError:
            raise SqlError(
                1767, f"Foreign key references invalid table '{'.'.join(parts)}'."
            ) from None

    return resolve


def _column_id(table: TableDef, name: str, shown: str, fk: str | None = None) -> int:
    for position, col in enumerate(table.columns, 1):
        if col.name.lower() == name.lower():
            return position
    if fk is not None:
        raise SqlError(
            1770,
            f"Foreign key '{fk}' references invalid column '{name}' in referenced table '{shown}'.",
        )
    raise SqlError(1769, f"Foreign key references invalid column '{name}' in table '{shown}'.")


def _referenced_key(target: TableDef, spec: ForeignKeySpec, name: str) -> Any:
    """The primary key or unique index of ``target`` the foreign key points at."""
    wanted = [c.lower() for c in spec.referenced_columns]
    for ix in target.indexes:
        if not ix.unique:
            continue
        columns = [c.lower() for c, _ in ix.columns]
        if (not wanted and ix.primary_key) or sorted(columns) == sorted(wanted):
            return ix
    raise SqlError(
        1776,
        f"There are no primary or candidate keys in the referenced table '{target.name}' "
        f"that match the referencing column list in the foreign key '{name}'.",
    )


def delete_statements(db: str, object_id: int) -> list[str]:
    s = f'"{db}"."__sys"'
    return [
        f"DELETE FROM {s}.foreign_keys WHERE parent_object_id = {object_id}",
        f"DELETE FROM {s}.foreign_key_columns WHERE parent_object_id = {object_id}",
    ]


def views(db: str) -> dict[str, str]:
    """``__sys`` views answering sys.foreign_keys, sys.foreign_key_columns and friends."""
    s = f'"{db}"."__sys"'
    q = "'" + db.replace("'", "''") + "'"
    action = (
        "CASE {0} WHEN 1 THEN 'CASCADE' WHEN 2 THEN 'SET_NULL' WHEN 3 THEN 'SET_DEFAULT' "
        "ELSE 'NO_ACTION' END"
    )
    rule = (
        "CASE {0} WHEN 1 THEN 'CASCADE' WHEN 2 THEN 'SET NULL' WHEN 3 THEN 'SET DEFAULT' "
        "ELSE 'NO ACTION' END"
    )
    return {
        "sys_foreign_keys": (
            "SELECT f.name, f.object_id, CAST(NULL AS INTEGER) AS principal_id, o.schema_id, "
            "f.parent_object_id, 'F' AS type, 'FOREIGN_KEY_CONSTRAINT' AS type_desc, "
            "o.create_date, o.modify_date, false AS is_ms_shipped, false AS is_published, "
            "false AS is_schema_published, f.referenced_object_id, f.key_index_id, "
            "false AS is_disabled, false AS is_not_for_replication, false AS is_not_trusted, "
            "f.delete_action AS delete_referential_action, "
            f"{action.format('f.delete_action')} AS delete_referential_action_desc, "
            "f.update_action AS update_referential_action, "
            f"{action.format('f.update_action')} AS update_referential_action_desc, "
            "false AS is_system_named "
            f"FROM {s}.foreign_keys f JOIN {s}.objects o ON o.object_id = f.object_id"
        ),
        "sys_foreign_key_columns": f"SELECT * FROM {s}.foreign_key_columns",
        "is_referential_constraints": (
            f"SELECT {q} AS CONSTRAINT_CATALOG, sc.name AS CONSTRAINT_SCHEMA, "
            f"f.name AS CONSTRAINT_NAME, {q} AS UNIQUE_CONSTRAINT_CATALOG, "
            "rs.name AS UNIQUE_CONSTRAINT_SCHEMA, i.name AS UNIQUE_CONSTRAINT_NAME, "
            "'SIMPLE' AS MATCH_OPTION, "
            f"{rule.format('f.update_action')} AS UPDATE_RULE, "
            f"{rule.format('f.delete_action')} AS DELETE_RULE "
            f"FROM {s}.foreign_keys f JOIN {s}.objects o ON o.object_id = f.object_id "
            f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
            f"JOIN {s}.objects r ON r.object_id = f.referenced_object_id "
            f"JOIN {s}.schemas rs ON rs.schema_id = r.schema_id "
            f"JOIN {s}.indexes i ON i.object_id = f.referenced_object_id "
            "AND i.index_id = f.key_index_id"
        ),
    }


def key_column_usage_sql(db: str) -> str:
    """The foreign key rows of INFORMATION_SCHEMA.KEY_COLUMN_USAGE."""
    s = f'"{db}"."__sys"'
    q = "'" + db.replace("'", "''") + "'"
    return (
        f"SELECT {q} AS CONSTRAINT_CATALOG, sc.name AS CONSTRAINT_SCHEMA, "
        f"f.name AS CONSTRAINT_NAME, {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, "
        "o.name AS TABLE_NAME, c.name AS COLUMN_NAME, "
        "fc.constraint_column_id AS ORDINAL_POSITION "
        f"FROM {s}.foreign_keys f JOIN {s}.objects o ON o.object_id = f.parent_object_id "
        f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id "
        f"JOIN {s}.foreign_key_columns fc ON fc.constraint_object_id = f.object_id "
        f"JOIN {s}.columns c ON c.object_id = fc.parent_object_id "
        "AND c.column_id = fc.parent_column_id"
    )


def table_constraints_sql(db: str) -> str:
    """The foreign key rows of INFORMATION_SCHEMA.TABLE_CONSTRAINTS."""
    s = f'"{db}"."__sys"'
    q = "'" + db.replace("'", "''") + "'"
    return (
        f"SELECT {q} AS CONSTRAINT_CATALOG, sc.name AS CONSTRAINT_SCHEMA, "
        f"f.name AS CONSTRAINT_NAME, {q} AS TABLE_CATALOG, sc.name AS TABLE_SCHEMA, "
        "o.name AS TABLE_NAME, 'FOREIGN KEY' AS CONSTRAINT_TYPE, "
        "'NO' AS IS_DEFERRABLE, 'NO' AS INITIALLY_DEFERRED "
        f"FROM {s}.foreign_keys f JOIN {s}.objects o ON o.object_id = f.parent_object_id "
        f"JOIN {s}.schemas sc ON sc.schema_id = o.schema_id"
    )
