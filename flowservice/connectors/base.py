"""The contract every source connector implements.

A connector is a package under ``flowservice.connectors`` (or a third-party
package) exposing one ``Connector`` subclass, registered in the
``flowservice.connectors`` entry-point group under its connection spec id.
It never imports ``flowservice.api`` or ``flowservice.store``: it gets the
decrypted auth params and returns plain data and Arrow batches.

Errors: raise ``flowservice.errors.SourceConfigError`` (the user must fix the
settings), ``TransientSourceError`` (retrying may help) or
``SourceSystemError``; messages never contain secrets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa


@dataclass(frozen=True)
class SourceObject:
    """A table or view the connection can see, named ``schema.table``."""

    name: str
    type: str  # "table" | "view"
    can_preview: bool = True
    can_fetch_schema: bool = True


@dataclass(frozen=True)
class SourceColumn:
    """A column with its native type and its XDM mapping."""

    name: str
    original_type: str  # e.g. "decimal(19,4)"
    xdm_type: str  # "string", "number", "integer", "boolean", "date", "date-time", ...
    arrow_type: pa.DataType
    nullable: bool = True
    primary_key_position: int | None = None
    lossy: bool = False


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: list[SourceColumn]


@dataclass(frozen=True)
class ReadWindow:
    """Rows whose ``column`` lies in the half-open window [start, end), in UTC."""

    column: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class KeyRange:
    """Rows whose integer key ``column`` lies in [start, end); None leaves that side open."""

    column: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """A source system reached through one base connection's auth params."""

    connection_spec_id: ClassVar[str]
    name: ClassVar[str]
    # modules (e.g. the database driver) imported ahead by the process that forks run reads
    preload_modules: ClassVar[tuple[str, ...]] = ()

    def __init__(self, auth_params: Mapping[str, Any]) -> None:
        self.auth_params = auth_params

    @classmethod
    def validate_auth(cls, spec_name: str, params: Mapping[str, Any]) -> None:
        """Check auth params beyond their JSON Schema.

        Raise ``InvalidRequest`` with a message that says what is wrong (never
        the secret itself). The default accepts what the schema accepted.
        """
        return None

    @classmethod
    def mask_secret(cls, key: str, value: str) -> str:
        """How the secret auth param ``key`` appears in responses."""
        return "****"

    @abstractmethod
    def check(self) -> CheckResult:
        """Connect once and report whether the settings work, with the reason if not."""

    @abstractmethod
    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        """Tables and views of all user schemas, sorted by name."""

    @abstractmethod
    def describe(self, table: str) -> TableSchema:
        """Columns of ``schema.table``; ``NotFound`` if the catalog has no such object."""

    @abstractmethod
    def preview(self, table: str, *, count: int = 100) -> tuple[TableSchema, list[dict[str, Any]]]:
        """The schema and up to ``count`` rows as JSON-ready dicts."""

    @abstractmethod
    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the table (optionally a window and a key range of it) as Arrow record batches."""

    def split(
        self, table: str, *, parts: int, window: ReadWindow | None = None, min_rows: int = 1
    ) -> list[KeyRange | None]:
        """Up to ``parts`` disjoint key ranges that together cover ``table`` (within ``window``),
        for reading side by side, none expected to hold fewer than ``min_rows`` rows.

        ``[None]``, one read of everything, when the source cannot be split (the default).
        """
        return [None]
