"""The contract every source connector implements.

A connector is a package under ``flowservice.connectors`` (or a third-party
package) exposing one ``Connector`` subclass, registered in the
``flowservice.connectors`` entry-point group under its connection spec id.
It never imports ``flowservice.api`` or ``flowservice.store``: it gets the
decrypted auth params and returns plain data and Arrow batches.

Errors: raise ``flowservice.errors.SourceConfigError`` (the user must fix the
settings), ``TransientSourceError`` (retrying may help) or
``SourceSystemError``; messages never contain secrets.

Change tracking (optional): a source that can list the rows changed since a
version implements ``change_tracking``, ``require_change_tracking`` and
``read_changes``. Their errors extend the tree under ``SourceConfigError``::

    SourceConfigError
    ├── ChangeTrackingUnavailable    changes cannot be read from this table (``reason``)
    └── ChangesExpired               the changes since a version are gone: copy the table again
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa

from flowservice.errors import SourceConfigError

# Adobe's change-data convention: ``u`` inserts or updates a row, ``d`` deletes it.
CHANGE_TYPE_COLUMN = "_change_request_type"
UPSERT = "u"
DELETE = "d"


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
class ChangeTrackingState:
    """Whether the changes of one table can be read, and the versions that bound them.

    ``current_version`` is the version of the last committed change in the
    database (None while tracking is off); ``min_valid_version`` the oldest
    version changes can still be read from (None when the table is not tracked
    or the login may not see its changes). ``can_read`` is true when
    ``read_changes`` may be called.
    """

    database_enabled: bool
    table_enabled: bool
    current_version: int | None
    min_valid_version: int | None
    can_read: bool


@dataclass(frozen=True)
class TableSchema:
    """A table's columns; ``change_tracking`` when the source reported it cheaply with them."""

    name: str
    columns: list[SourceColumn]
    change_tracking: ChangeTrackingState | None = None

    @property
    def primary_key(self) -> list[str]:
        """The primary-key column names in key order; empty without a key."""
        keyed = [c for c in self.columns if c.primary_key_position is not None]
        return [c.name for c in sorted(keyed, key=lambda c: c.primary_key_position or 0)]


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


class ChangeTrackingUnavailable(SourceConfigError):
    """The changes of a table cannot be read; the message says what to change at the source.

    ``reason`` is one of ``REASONS``.
    """

    REASONS = frozenset(
        {
            "not_supported",  # the source has no change tracking
            "not_a_table",  # a view, or another object that cannot be tracked
            "no_primary_key",
            "database_disabled",
            "table_disabled",
            "no_permission",
            "key_columns_missing",  # the columns asked for leave out a key column
        }
    )

    # keyword defaults let pickle rebuild it (a child process's read sends its error back)
    def __init__(
        self, message: str, *, reason: str = "not_supported", table: str | None = None
    ) -> None:
        super().__init__(message, resource_type="table", resource_id=table)
        self.reason = reason


class ChangesExpired(SourceConfigError):
    """The changes since ``since_version`` can no longer be read: the table must be copied again.

    Cleanup removed older change information, the table was truncated, or its
    tracking was turned off and on again (``min_valid_version`` > ``since_version``);
    or ``since_version`` is newer than the database's current version (a
    restored database).
    """

    # keyword defaults let pickle rebuild it, as for ChangeTrackingUnavailable
    def __init__(
        self,
        message: str,
        *,
        since_version: int = 0,
        min_valid_version: int | None = None,
        current_version: int | None = None,
        table: str | None = None,
    ) -> None:
        super().__init__(message, resource_type="table", resource_id=table)
        self.since_version = since_version
        self.min_valid_version = min_valid_version
        self.current_version = current_version


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
        """Tables and views of all user schemas, ordered by schema then name as the source's
        catalog sorts them (its collation, not Python's string order)."""

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

    def primary_key(self, table: str) -> list[str]:
        """The primary-key column names of ``table`` in key order; empty without a key."""
        return self.describe(table).primary_key

    def change_tracking(self, table: str) -> ChangeTrackingState:
        """Whether change tracking is on for ``table`` and its database, with their versions.

        Read ``current_version`` *before* reading data and keep it as the next
        starting point: changes committed while the data is read are then read
        again next time, which is harmless when they are applied as upserts and
        deletes by primary key.
        """
        raise self._no_change_tracking()

    def require_change_tracking(self, table: str, *, columns: list[str] | None = None) -> None:
        """Raise ``ChangeTrackingUnavailable`` saying what to change unless ``read_changes`` works.

        ``columns``, when given, are the columns a dataflow copies: they must
        include every primary-key column.
        """
        raise self._no_change_tracking()

    def read_changes(
        self,
        table: str,
        *,
        since_version: int,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        """The net change of every row changed after ``since_version``, as Arrow batches.

        One row per changed key: the columns ``read`` gives for the same
        ``columns`` (same Arrow types) holding the row's current values, plus
        ``CHANGE_TYPE_COLUMN``, ``u`` (the row exists: insert or update) or ``d``
        (it does not: only the key columns are set). Raises ``ChangesExpired``
        when the changes since that version are no longer all available, also
        when that is found only after the last batch.
        """
        raise self._no_change_tracking()

    def _no_change_tracking(self) -> ChangeTrackingUnavailable:
        return ChangeTrackingUnavailable(
            f"{self.name} sources do not support change tracking.", reason="not_supported"
        )
