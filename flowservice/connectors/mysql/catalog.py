"""Catalog queries: list tables and views, resolve a user-given name, describe columns.

An object is named ``database.table`` (MySQL's schema is its database). With
``Database`` in the connection string only that database is listed, and a bare
``table`` means a table of it; without one, every database the user can see
except the system ones. Names given by users are only compared with catalog
values through parameters; what reaches SQL text is the catalog's own spelling, quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowservice.connectors.mysql.types import MySqlType, quote_identifier
from flowservice.connectors.object_names import dotted_splits, quoted_parts
from flowservice.errors import NotFound

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")

_LIST = """
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE
FROM information_schema.TABLES
WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED'){only}
ORDER BY CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY)
LIMIT %s OFFSET %s
"""

_FIND = """
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
"""

_COLUMNS = """
SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE,
       c.IS_NULLABLE, k.ORDINAL_POSITION
FROM information_schema.COLUMNS AS c
LEFT JOIN information_schema.KEY_COLUMN_USAGE AS k
  ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
 AND k.COLUMN_NAME = c.COLUMN_NAME AND k.CONSTRAINT_NAME = 'PRIMARY'
WHERE c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s
ORDER BY c.ORDINAL_POSITION
"""

_NO_LIMIT = 2**63 - 1


@dataclass(frozen=True)
class CatalogObject:
    """A table or view exactly as the catalog spells it."""

    schema: str
    name: str
    kind: str  # "table" | "view"
    engine: str | None = None  # the storage engine of a table ("InnoDB", "Aria", ...)

    @property
    def path(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def quoted(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"


@dataclass(frozen=True)
class CatalogColumn:
    name: str
    sql_type: MySqlType
    nullable: bool
    primary_key_position: int | None


def _text(value: Any) -> str:
    """Catalog text; MySQL 8 returns some information_schema columns as bytes."""
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else str(value)


def _object(row: Any) -> CatalogObject:
    kind = "view" if _text(row[2]).upper() == "VIEW" else "table"
    engine = None if row[3] is None else _text(row[3])
    return CatalogObject(_text(row[0]), _text(row[1]), kind, engine)


def list_objects(
    cursor: Any, database: str | None, *, start: int, limit: int | None
) -> list[CatalogObject]:
    """Tables and views (of ``database`` when given), by database then name (code point
    order, not the catalog's collation), paged in SQL."""
    only = " AND TABLE_SCHEMA = %s" if database else ""
    params: tuple[Any, ...] = (database,) if database else ()
    cursor.execute(_LIST.format(only=only), (*params, _NO_LIMIT if limit is None else limit, start))
    return [_object(row) for row in cursor.fetchall()]


def name_candidates(name: str, database: str | None) -> list[tuple[str, str]]:
    """Ways to read ``name`` as (database, table).

    ```db`.`table``` and ```table``` are taken literally; ``a.b.c`` may be ``a``+``b.c`` or
    ``a.b``+``c``; a name without a dot is a table of the connection's database.
    """
    text = name.strip()
    quoted = quoted_parts(text, "`", "`")
    if quoted is not None:
        if len(quoted) == 2:
            return [(quoted[0], quoted[1])]
        return [(database, quoted[0])] if database else []
    found = dotted_splits(text)
    if database and text:
        found.append((database, text))
    return found


def resolve(cursor: Any, name: str, database: str | None) -> CatalogObject:
    """The catalog object ``name`` designates; ``NotFound`` if none."""
    for schema, table in name_candidates(name, database):
        if schema.lower() in SYSTEM_SCHEMAS:
            continue
        cursor.execute(_FIND, (schema, table))
        row = cursor.fetchone()
        if row is not None:
            return _object(row)
    shown = name if len(name) <= 200 else name[:197] + "..."
    raise NotFound(
        f"The table or view '{shown}' was not found. Use the database.table path "
        "listed by explore with objectType=root.",
        resource_type="table",
        resource_id=shown,
    )


def columns(cursor: Any, obj: CatalogObject) -> list[CatalogColumn]:
    """The columns of ``obj`` in ordinal order, with their primary-key positions."""
    cursor.execute(_COLUMNS, (obj.schema, obj.name))
    found: list[CatalogColumn] = []
    for name, data_type, column_type, precision, scale, nullable, key in cursor.fetchall():
        sql_type = MySqlType(
            name=_text(data_type).lower(),
            column_type=_text(column_type).lower(),
            precision=None if precision is None else int(precision),
            scale=None if scale is None else int(scale),
        )
        found.append(
            CatalogColumn(
                name=_text(name),
                sql_type=sql_type,
                nullable=_text(nullable).upper() == "YES",
                primary_key_position=None if key is None else int(key),
            )
        )
    return found
