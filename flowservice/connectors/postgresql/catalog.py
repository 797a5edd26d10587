"""Catalog queries: list tables and views, resolve a user-given name, describe columns.

Names given by users only ever meet catalog values as query parameters; what
reaches SQL text is the catalog's own spelling, quoted. Partitions are not
listed (their partitioned parent is, once); they can still be named directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowservice.connectors.object_names import dotted_splits, quoted_parts
from flowservice.connectors.postgresql.types import PostgresType, numeric_modifiers
from flowservice.connectors.postgresql.types import quote_identifier as quote
from flowservice.errors import NotFound

# r table, p partitioned table, f foreign table; v view, m materialized view
TABLE_KINDS = ("r", "p", "f")
VIEW_KINDS = ("v", "m")

_VISIBLE = """
c.relkind IN ('r', 'p', 'f', 'v', 'm')
AND n.nspname NOT IN ('pg_catalog', 'information_schema')
AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
AND has_schema_privilege(n.oid, 'USAGE')
AND has_any_column_privilege(c.oid, 'SELECT')
"""

LIST_OBJECTS = f"""
SELECT n.nspname, c.relname, c.relkind
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE {_VISIBLE} AND NOT c.relispartition
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
OFFSET %s LIMIT %s
"""

FIND_OBJECT = f"""
SELECT n.nspname, c.relname, c.relkind, c.oid
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE {_VISIBLE} AND n.nspname = %s AND c.relname = %s
"""

# the same, ignoring case, when the exact spelling finds nothing
FIND_OBJECT_ANY_CASE = f"""
SELECT n.nspname, c.relname, c.relkind, c.oid
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE {_VISIBLE} AND lower(n.nspname) = lower(%s) AND lower(c.relname) = lower(%s)
"""

COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypmod, NOT a.attnotnull,
       t.oid, t.typname, t.typtype, t.typcategory, t.typbasetype, t.typtypmod,
       (SELECT k.position
          FROM pg_catalog.pg_index AS i,
               unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
         WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum
           AND k.position <= i.indnkeyatts)  -- not the INCLUDE columns
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

BASE_TYPE = """
SELECT t.oid, t.typname, t.typtype, t.typcategory, t.typbasetype, t.typtypmod
FROM pg_catalog.pg_type AS t WHERE t.oid = %s
"""


@dataclass(frozen=True)
class CatalogObject:
    """A table or view exactly as the catalog spells it."""

    schema: str
    name: str
    relkind: str
    oid: int = 0

    @property
    def kind(self) -> str:
        """``table`` or ``view``, as explore reports it."""
        return "view" if self.relkind in VIEW_KINDS else "table"

    @property
    def path(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def quoted(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"


@dataclass(frozen=True)
class CatalogColumn:
    name: str
    pg_type: PostgresType
    nullable: bool
    primary_key_position: int | None


def list_objects(cursor: Any, *, start: int, limit: int | None) -> list[CatalogObject]:
    """Tables, views, materialized views, foreign and partitioned tables, by schema then name."""
    cursor.execute(LIST_OBJECTS, (start, limit))
    return [CatalogObject(row[0], row[1], row[2]) for row in cursor.fetchall()]


def name_candidates(name: str) -> list[tuple[str, str]]:
    """Ways to read ``name`` as (schema, object).

    ``a.b.c`` may be ``a`` + ``b.c`` or ``a.b`` + ``c``; ``"a"."b"`` (SQL quoting,
    ``""`` inside) is read as written; a name without a schema means ``public``.
    """
    text = name.strip()
    quoted = quoted_parts(text, '"', '"')
    if quoted is not None:
        return [("public", quoted[0])] if len(quoted) == 1 else [(quoted[0], quoted[1])]
    if "." not in text:
        return [("public", text)] if text else []
    return dotted_splits(text)


def resolve(cursor: Any, name: str) -> CatalogObject:
    """The object ``name`` designates (exact spelling first, then ignoring case); ``NotFound``."""
    # no PostgreSQL name holds NUL, and the driver refuses to send one as a parameter
    candidates = [] if "\x00" in name else name_candidates(name)
    for query in (FIND_OBJECT, FIND_OBJECT_ANY_CASE):
        for schema, table in candidates:
            cursor.execute(query, (schema, table))
            rows = cursor.fetchall()
            if len(rows) == 1:
                row = rows[0]
                return CatalogObject(row[0], row[1], row[2], int(row[3]))
    shown = name if len(name) <= 200 else name[:197] + "..."
    raise NotFound(
        f"The table or view '{shown}' was not found. Use the schema.table path "
        "listed by explore with objectType=root.",
        resource_type="table",
        resource_id=shown,
    )


def columns(cursor: Any, obj: CatalogObject) -> list[CatalogColumn]:
    """The columns of ``obj`` in ordinal order, domains resolved, with primary-key positions."""
    cursor.execute(COLUMNS, (obj.oid,))
    rows = cursor.fetchall()
    found: list[CatalogColumn] = []
    for name, native, typmod, nullable, *type_row, key in rows:
        pg_type = _base_type(cursor, native, int(typmod), tuple(type_row))
        found.append(
            CatalogColumn(
                name=name,
                pg_type=pg_type,
                nullable=bool(nullable),
                primary_key_position=None if key is None else int(key),
            )
        )
    return found


def _base_type(cursor: Any, native: str, typmod: int, row: tuple[Any, ...]) -> PostgresType:
    """Follow domains down to their base type; the outermost type modifier wins."""
    oid, typname, typtype, category, basetype, domain_typmod = row
    seen: set[int] = set()
    while typtype == "d" and int(basetype) and int(oid) not in seen:
        seen.add(int(oid))
        if typmod < 0:
            typmod = int(domain_typmod)
        cursor.execute(BASE_TYPE, (int(basetype),))
        oid, typname, typtype, category, basetype, domain_typmod = cursor.fetchone()
    kind = "a" if category == "A" else str(typtype)
    precision, scale = numeric_modifiers(typmod) if typname == "numeric" else (None, None)
    return PostgresType(
        name=str(typname), native=str(native), kind=kind, precision=precision, scale=scale
    )


def order_key(cols: list[CatalogColumn]) -> list[str]:
    """The primary-key column names in key order; empty without a key."""
    keyed = sorted(
        (c for c in cols if c.primary_key_position is not None),
        key=lambda c: c.primary_key_position or 0,
    )
    return [c.name for c in keyed]
