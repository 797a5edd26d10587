"""Catalog queries: list tables and views, resolve a user-given name, describe columns.

Names given by users are only ever compared with catalog values through
parameters; what reaches SQL text is the catalog's own spelling, quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowservice.connectors.object_names import dotted_splits, quoted_parts
from flowservice.connectors.sqlserver.types import SqlServerType, quote_identifier
from flowservice.errors import NotFound

SYSTEM_SCHEMAS = ("sys", "INFORMATION_SCHEMA")

LIST_OBJECTS = """
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE
FROM INFORMATION_SCHEMA.TABLES
WHERE TABLE_SCHEMA NOT IN ('sys', 'INFORMATION_SCHEMA')
ORDER BY TABLE_SCHEMA, TABLE_NAME
"""

FIND_OBJECT = """
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE
FROM INFORMATION_SCHEMA.TABLES
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
"""

COLUMNS = """
SELECT c.COLUMN_NAME, c.DATA_TYPE, c.CHARACTER_MAXIMUM_LENGTH, c.NUMERIC_PRECISION,
       c.NUMERIC_SCALE, c.DATETIME_PRECISION, c.IS_NULLABLE, k.ORDINAL_POSITION
FROM INFORMATION_SCHEMA.COLUMNS AS c
LEFT JOIN INFORMATION_SCHEMA.TABLE_CONSTRAINTS AS t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
 AND t.CONSTRAINT_TYPE = 'PRIMARY KEY'
LEFT JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE AS k
  ON k.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = t.CONSTRAINT_NAME
 AND k.COLUMN_NAME = c.COLUMN_NAME
WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
ORDER BY c.ORDINAL_POSITION
"""

# Key columns of the clustered index (type 1): the physical order, cheapest to read in.
CLUSTERED_KEY = """
SELECT c.name
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
JOIN sys.objects AS o ON o.object_id = i.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE s.name = ? AND o.name = ? AND i.type = 1 AND ic.key_ordinal > 0
ORDER BY ic.key_ordinal
"""

_TIME_TYPES = frozenset({"time", "datetime2", "datetimeoffset"})


@dataclass(frozen=True)
class CatalogObject:
    """A table or view exactly as the catalog spells it."""

    schema: str
    name: str
    kind: str  # "table" | "view"

    @property
    def path(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def quoted(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"


@dataclass(frozen=True)
class CatalogColumn:
    name: str
    sql_type: SqlServerType
    nullable: bool
    primary_key_position: int | None


def _kind(table_type: str) -> str:
    return "view" if table_type.strip().upper() == "VIEW" else "table"


def list_objects(cursor: Any) -> list[CatalogObject]:
    """Every table and view of the user schemas, in catalog order (schema, then name)."""
    cursor.execute(LIST_OBJECTS)
    return [CatalogObject(row[0], row[1], _kind(row[2])) for row in cursor.fetchall()]


def name_candidates(name: str) -> list[tuple[str, str]]:
    """Ways to read ``name`` as (schema, object): ``a.b.c`` may be ``a``+``b.c`` or ``a.b``+``c``.

    ``[schema].[table]`` is accepted too; a name without a schema means ``dbo``.
    """
    text = name.strip()
    bracketed = quoted_parts(text, "[", "]")
    if bracketed is not None:
        return [("dbo", bracketed[0])] if len(bracketed) == 1 else [(bracketed[0], bracketed[1])]
    if "." not in text:
        return [("dbo", text)] if text else []
    return dotted_splits(text)


def resolve(cursor: Any, name: str) -> CatalogObject:
    """The catalog object ``name`` designates; ``NotFound`` if none."""
    for schema, table in name_candidates(name):
        cursor.execute(FIND_OBJECT, (schema, table))
        row = cursor.fetchone()
        if row is not None:
            return CatalogObject(row[0], row[1], _kind(row[2]))
    shown = name if len(name) <= 200 else name[:197] + "..."
    raise NotFound(
        f"The table or view '{shown}' was not found. Use the schema.table path "
        "listed by explore with objectType=root.",
        resource_type="table",
        resource_id=shown,
    )


def columns(cursor: Any, obj: CatalogObject) -> list[CatalogColumn]:
    """The columns of ``obj`` in ordinal order, with their primary-key positions."""
    cursor.execute(COLUMNS, (obj.schema, obj.name))
    found: list[CatalogColumn] = []
    for name, data_type, length, precision, scale, dt_precision, nullable, key in cursor.fetchall():
        type_name = str(data_type).lower()
        sql_type = SqlServerType(
            name=type_name,
            length=None if length is None else int(length),
            precision=None if precision is None else int(precision),
            scale=_scale(type_name, scale, dt_precision),
        )
        found.append(
            CatalogColumn(
                name=name,
                sql_type=sql_type,
                nullable=str(nullable).upper() == "YES",
                primary_key_position=None if key is None else int(key),
            )
        )
    return found


def _scale(type_name: str, scale: Any, dt_precision: Any) -> int | None:
    if type_name in _TIME_TYPES:
        return None if dt_precision is None else int(dt_precision)
    return None if scale is None else int(scale)


def order_key(cursor: Any, obj: CatalogObject, cols: list[CatalogColumn]) -> list[str]:
    """Column names to read ``obj`` in order: its clustered key, else its primary key, else none."""
    if obj.kind == "table":
        cursor.execute(CLUSTERED_KEY, (obj.schema, obj.name))
        clustered = [str(row[0]) for row in cursor.fetchall()]
        if clustered:
            return clustered
    keyed = sorted(
        (c for c in cols if c.primary_key_position is not None),
        key=lambda c: c.primary_key_position or 0,
    )
    return [c.name for c in keyed]
