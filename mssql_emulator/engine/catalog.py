"""The engine's own catalog: declared SQL Server types, identity, keys, indexes, views.

DuckDB stores the rows; this catalog remembers what SQL Server would: the
declared type of every column, identity seeds, constraint names, object ids.
It lives in Python for fast lookups and is mirrored into ``__sys`` tables of
each database so catalog views can be joined like any other table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from mssql_emulator.contract import SqlType

FIRST_OBJECT_ID = 1_000_003
SCHEMA_IDS = {"dbo": 1, "guest": 2, "INFORMATION_SCHEMA": 3, "sys": 4}


@dataclass
class ColumnDef:
    name: str
    type: SqlType
    nullable: bool = True
    identity: tuple[int, int] | None = None
    default: str | None = None


@dataclass
class IndexDef:
    name: str
    index_id: int
    columns: list[tuple[str, bool]]
    unique: bool = False
    primary_key: bool = False
    unique_constraint: bool = False
    clustered: bool = False
    constraint_id: int | None = None


@dataclass
class ForeignKeyDef:
    """One FOREIGN KEY: ``columns`` of table ``child_id`` reference ``referenced_id``."""

    name: str
    child_id: int
    columns: tuple[str, ...]
    referenced_id: int
    referenced_columns: tuple[str, ...]
    on_delete: int = 0
    on_update: int = 0
    enabled: bool = True


@dataclass
class TableDef:
    """A table (``kind`` 'U') or view ('V') as SQL Server describes it."""

    object_id: int
    schema: str
    name: str
    kind: str = "U"
    columns: list[ColumnDef] = field(default_factory=list)
    indexes: list[IndexDef] = field(default_factory=list)
    definition: str | None = None
    change_tracking: bool = False
    track_columns: bool = False
    # Foreign keys this table declares and those pointing at it; None until loaded.
    foreign_keys: list[ForeignKeyDef] | None = None
    referenced_by: list[ForeignKeyDef] | None = None

    def column(self, name: str) -> ColumnDef | None:
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None

    @property
    def primary_key(self) -> IndexDef | None:
        return next((ix for ix in self.indexes if ix.primary_key), None)

    @property
    def identity_column(self) -> ColumnDef | None:
        return next((c for c in self.columns if c.identity is not None), None)


class DatabaseCatalog:
    """Objects of one SQL database, keyed case-insensitively by (schema, name)."""

    def __init__(self, name: str, database_id: int) -> None:
        self.name = name
        self.database_id = database_id
        self.lock = threading.RLock()
        self.schemas: dict[str, tuple[int, str]] = {
            k.lower(): (v, k) for k, v in SCHEMA_IDS.items()
        }
        self.objects: dict[tuple[str, str], TableDef] = {}
        self.by_id: dict[int, TableDef] = {}
        self.next_object_id = FIRST_OBJECT_ID
        self.change_tracking = False
        self.allow_snapshot_isolation = False
        # The last committed change tracking version, and the counter numbering tracked
        # transactions and their changes (see ``change_tracking``); both under ``lock``.
        self.ct_version = 0
        self.ct_counter = 0

    def new_object_id(self) -> int:
        with self.lock:
            oid = self.next_object_id
            self.next_object_id += 2
            return oid

    def next_ct_number(self) -> int:
        with self.lock:
            self.ct_counter += 1
            return self.ct_counter

    def schema_id(self, schema: str) -> int | None:
        entry = self.schemas.get(schema.lower())
        return entry[0] if entry else None

    def schema_name(self, schema: str) -> str | None:
        entry = self.schemas.get(schema.lower())
        return entry[1] if entry else None

    def add_schema(self, name: str, schema_id: int | None = None) -> int:
        with self.lock:
            sid = schema_id or max(v for v, _ in self.schemas.values()) + 1
            if sid < 5:
                sid = 5
            self.schemas[name.lower()] = (sid, name)
            return sid

    def get(self, schema: str, name: str) -> TableDef | None:
        return self.objects.get((schema.lower(), name.lower()))

    def add(self, table: TableDef) -> None:
        with self.lock:
            self.objects[(table.schema.lower(), table.name.lower())] = table
            self.by_id[table.object_id] = table
            self.next_object_id = max(self.next_object_id, table.object_id + 2)

    def remove(self, table: TableDef) -> None:
        with self.lock:
            self.objects.pop((table.schema.lower(), table.name.lower()), None)
            self.by_id.pop(table.object_id, None)
