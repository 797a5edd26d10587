"""``PostgresConnector``: connection test, explore, preview, Arrow reads and key-range splits.

The catalog is read through psycopg (parameters, SQLSTATEs); rows through ADBC's
PostgreSQL driver, which streams ``COPY ... TO STDOUT (FORMAT BINARY)`` straight
into Arrow (chosen by measurement: ``bench/postgres_read_paths.py``,
``docs/sources/postgresql.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from flowservice.connectors.base import (
    CheckResult,
    Connector,
    KeyRange,
    ReadWindow,
    SourceColumn,
    SourceObject,
    TableSchema,
)
from flowservice.connectors.postgresql import catalog
from flowservice.connectors.postgresql.connection_string import (
    ConnectionSettings,
    mask_password,
    parse_connection_string,
)
from flowservice.connectors.postgresql.errors import classify
from flowservice.connectors.postgresql.key_ranges import integer_key, key_ranges
from flowservice.connectors.postgresql.preview_values import json_rows
from flowservice.connectors.postgresql.queries import (
    bounds_statement,
    find_column,
    preview_statement,
    read_statement,
)
from flowservice.connectors.postgresql.session import arrow_cursor, catalog_cursor
from flowservice.connectors.postgresql.types import conform, map_type
from flowservice.errors import ConnectorError, InvalidRequest, SourceConfigError

CONNECTION_STRING = "connectionString"
MAX_PREVIEW_ROWS = 1000


class PostgresConnector(Connector):
    """A PostgreSQL database reached with Adobe's ``Server=...;Database=...`` string."""

    connection_spec_id: ClassVar[str] = "74a1c565-4e59-48d7-9d67-7c03b8a13137"
    name: ClassVar[str] = "postgresql"
    preload_modules: ClassVar[tuple[str, ...]] = ("psycopg", "adbc_driver_postgresql.dbapi")

    @classmethod
    def validate_auth(cls, spec_name: str, params: Mapping[str, Any]) -> None:
        settings_from(params)

    @classmethod
    def mask_secret(cls, key: str, value: str) -> str:
        if key == CONNECTION_STRING and isinstance(value, str):
            return mask_password(value)
        return "****"

    def __init__(self, auth_params: Mapping[str, Any]) -> None:
        super().__init__(auth_params)
        self.settings: ConnectionSettings = settings_from(auth_params)

    def check(self) -> CheckResult:
        try:
            with catalog_cursor(self.settings) as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchall()
        except ConnectorError as exc:
            reason = getattr(exc, "reason", "unexpected")
            return CheckResult(ok=False, message=exc.message, details={"reason": reason})
        return CheckResult(ok=True)

    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        if start < 0 or (limit is not None and limit < 0):
            raise InvalidRequest("start and limit must not be negative.")
        with catalog_cursor(self.settings) as cursor:
            found = catalog.list_objects(cursor, start=start, limit=limit)
        return [SourceObject(name=obj.path, type=obj.kind) for obj in found]

    def describe(self, table: str) -> TableSchema:
        with catalog_cursor(self.settings) as cursor:
            obj, cols = _table(cursor, table)
        return TableSchema(name=obj.path, columns=[_source_column(c) for c in cols])

    def preview(self, table: str, *, count: int = 100) -> tuple[TableSchema, list[dict[str, Any]]]:
        if not 1 <= count <= MAX_PREVIEW_ROWS:
            raise InvalidRequest(f"count must be between 1 and {MAX_PREVIEW_ROWS}.")
        with catalog_cursor(self.settings) as cursor:
            obj, cols = _table(cursor, table)
        sql = preview_statement(obj, cols, limit=count, order_key=catalog.order_key(cols))
        typed = [(c.name, c.pg_type) for c in cols]
        rows: list[dict[str, Any]] = []
        for batch in self._stream(sql, typed):
            rows.extend(json_rows(batch))
        schema = TableSchema(name=obj.path, columns=[_source_column(c) for c in cols])
        return schema, rows[:count]

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` as batches of exactly ``batch_rows`` rows (the last one fewer).

        The window is ``column >= start AND column < end`` (UTC; see
        ``queries.timestamp_literal``), a key range the same half-open predicate
        on its integer column.
        """
        if batch_rows < 1:
            raise InvalidRequest("batch_rows must be at least 1.")
        with catalog_cursor(self.settings) as cursor:
            obj, all_cols = _table(cursor, table)
        cols = _pick(obj, all_cols, columns)
        sql = read_statement(obj, all_cols, cols, window=window, key_range=key_range)
        typed = [(c.name, c.pg_type) for c in cols]
        yield from rebatch(self._stream(sql, typed), batch_rows)

    def split(
        self, table: str, *, parts: int, window: ReadWindow | None = None, min_rows: int = 1
    ) -> list[KeyRange | None]:
        """Equal ranges of the primary key when it is one integer column; ``[None]`` otherwise."""
        if parts < 2:
            return [None]
        with catalog_cursor(self.settings) as cursor:
            obj, cols = _table(cursor, table)
            key = integer_key(cols)
            if key is None:
                return [None]
            cursor.execute(bounds_statement(obj, cols, key, window=window))
            row = cursor.fetchone()
        if row is None:
            return [None]
        return key_ranges(key, row[0], row[1], parts=parts, min_rows=min_rows)

    def _stream(self, sql: str, typed: list[tuple[str, Any]]) -> Iterator[pa.RecordBatch]:
        """Batches of ``sql`` from ADBC's binary COPY, conformed to the promised schema."""
        import adbc_driver_manager

        with arrow_cursor(self.settings) as cursor:
            cursor.execute(sql)
            reader = cursor.fetch_record_batch()
            try:
                for batch in reader:
                    if batch.num_rows:
                        yield conform(batch, typed)
            except adbc_driver_manager.Error as exc:
                raise classify(exc, self.settings) from exc
            finally:
                reader.close()


def rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Re-cut a stream of batches into batches of exactly ``rows`` rows (the last one fewer)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            take = min(rows - count, batch.num_rows - offset)
            pending.append(batch.slice(offset, take))
            count += take
            offset += take
            if count == rows:
                yield _concat(pending)
                pending, count = [], 0
    if count:
        yield _concat(pending)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    combined = pa.Table.from_batches(batches).combine_chunks()
    return combined.to_batches()[0]


def settings_from(params: Mapping[str, Any]) -> ConnectionSettings:
    """The parsed connection string of a connection's auth params."""
    raw = params.get(CONNECTION_STRING)
    if not isinstance(raw, str):
        raise InvalidRequest("auth.params.connectionString is required and must be a string.")
    return parse_connection_string(raw)


def _table(cursor: Any, table: str) -> tuple[catalog.CatalogObject, list[catalog.CatalogColumn]]:
    obj = catalog.resolve(cursor, table)
    return obj, catalog.columns(cursor, obj)


def _source_column(column: catalog.CatalogColumn) -> SourceColumn:
    mapping = map_type(column.pg_type)
    return SourceColumn(
        name=column.name,
        original_type=str(column.pg_type),
        xdm_type=mapping.xdm_type,
        arrow_type=mapping.arrow_type,
        nullable=column.nullable,
        primary_key_position=column.primary_key_position,
        lossy=mapping.lossy,
    )


def _pick(
    obj: catalog.CatalogObject, cols: list[catalog.CatalogColumn], wanted: list[str] | None
) -> list[catalog.CatalogColumn]:
    """The requested columns in the requested order (exact spelling first, then ignoring case)."""
    if wanted is None:
        return cols
    picked: list[catalog.CatalogColumn] = []
    for name in wanted:
        found = find_column(cols, name)
        if found is None:
            raise SourceConfigError(f"Column '{name[:128]}' is not in {obj.path}.")
        picked.append(found)
    return picked
