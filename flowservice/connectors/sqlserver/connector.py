"""``SqlServerConnector``: connection test, explore, preview, Arrow reads and Change Tracking."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from flowservice.connectors.base import (
    ChangeTrackingState,
    CheckResult,
    Connector,
    KeyRange,
    ReadWindow,
    SourceColumn,
    SourceObject,
    TableSchema,
)
from flowservice.connectors.sqlserver import catalog
from flowservice.connectors.sqlserver import change_tracking as tracking
from flowservice.connectors.sqlserver.connection_string import (
    ConnectionSettings,
    mask_password,
    parse_connection_string,
)
from flowservice.connectors.sqlserver.key_ranges import integer_key, key_ranges
from flowservice.connectors.sqlserver.odbc import preflight, session
from flowservice.connectors.sqlserver.preview_values import json_rows
from flowservice.connectors.sqlserver.queries import (
    bounds_statement,
    read_statement,
    select_statement,
)
from flowservice.connectors.sqlserver.types import conform, map_type
from flowservice.errors import ConnectorError, InvalidRequest, SourceConfigError

CONNECTION_STRING = "connectionString"
MAX_PREVIEW_ROWS = 1000


class SqlServerConnector(Connector):
    """A SQL Server database reached with an ADO.NET connection string."""

    connection_spec_id: ClassVar[str] = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
    name: ClassVar[str] = "sql-server"
    preload_modules: ClassVar[tuple[str, ...]] = ("mssql_python",)

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
        self.settings = settings_from(auth_params)

    def check(self) -> CheckResult:
        try:
            seconds_left = preflight(self.settings)
            with session(self.settings, login_timeout=seconds_left) as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchall()
        except ConnectorError as exc:
            reason = getattr(exc, "reason", "unexpected")
            return CheckResult(ok=False, message=exc.message, details={"reason": reason})
        return CheckResult(ok=True)

    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        if start < 0 or (limit is not None and limit < 0):
            raise InvalidRequest("start and limit must not be negative.")
        with session(self.settings) as cursor:
            found = catalog.list_objects(cursor)
        stop = None if limit is None else start + limit
        return [SourceObject(name=obj.path, type=obj.kind) for obj in found[start:stop]]

    def describe(self, table: str) -> TableSchema:
        """Columns with their key positions, and the table's change tracking when readable."""
        with session(self.settings) as cursor:
            obj, cols = self._table(cursor, table)
            state = tracking.quiet_state(cursor, obj)
        return TableSchema(
            name=obj.path, columns=[_source_column(c) for c in cols], change_tracking=state
        )

    def preview(self, table: str, *, count: int = 100) -> tuple[TableSchema, list[dict[str, Any]]]:
        if not 1 <= count <= MAX_PREVIEW_ROWS:
            raise InvalidRequest(f"count must be between 1 and {MAX_PREVIEW_ROWS}.")
        with session(self.settings) as cursor:
            obj, cols = self._table(cursor, table)
            key = catalog.order_key(cursor, obj, cols)
            sql = select_statement(obj, cols, top=count, order_key=key)
            cursor.execute(sql)
            fetched = cursor.arrow()
            state = tracking.quiet_state(cursor, obj)
        typed = [(c.name, c.sql_type) for c in cols]
        rows: list[dict[str, Any]] = []
        for batch in fetched.to_batches():
            rows.extend(json_rows(conform(batch, typed)))
        columns = [_source_column(c) for c in cols]
        return TableSchema(name=obj.path, columns=columns, change_tracking=state), rows[:count]

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
        ordered: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` as batches of ``batch_rows``; ``ordered`` sorts by the clustered key.

        The window predicate is ``column >= start AND column < end`` with both
        bounds sent as parameters (naive UTC datetimes); a key range adds the same
        half-open predicate on its integer key.
        """
        if batch_rows < 1:
            raise InvalidRequest("batch_rows must be at least 1.")
        with session(self.settings) as cursor:
            obj, all_cols = self._table(cursor, table)
            cols = _pick(obj, all_cols, columns)
            key = catalog.order_key(cursor, obj, all_cols) if ordered else []
            sql, params = read_statement(
                obj, all_cols, cols, window=window, order_key=key, key_range=key_range
            )
            cursor.execute(sql, params)
            typed = [(c.name, c.sql_type) for c in cols]
            reader = cursor.arrow_reader(batch_rows)
            try:
                for batch in reader:
                    if batch.num_rows:
                        yield conform(batch, typed)
            finally:
                reader.close()

    def split(
        self, table: str, *, parts: int, window: ReadWindow | None = None, min_rows: int = 1
    ) -> list[KeyRange | None]:
        """Equal ranges of the table's key when it is one integer column (clustered or primary).

        The first and last ranges are open, so rows inserted beyond the current
        bounds while the parts are read are still read, once.
        """
        if parts < 2:
            return [None]
        with session(self.settings) as cursor:
            obj, cols = self._table(cursor, table)
            key = integer_key(cols, catalog.order_key(cursor, obj, cols))
            if key is None:
                return [None]
            sql, params = bounds_statement(obj, cols, key, window=window)
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return [None]
        return key_ranges(key, row[0], row[1], parts=parts, min_rows=min_rows)

    def change_tracking(self, table: str) -> ChangeTrackingState:
        """Tracking of ``table`` and its database, from one query; read the version first."""
        with session(self.settings) as cursor:
            obj = catalog.resolve(cursor, table)
            return tracking.read_state(cursor, obj).state

    def require_change_tracking(self, table: str, *, columns: list[str] | None = None) -> None:
        with session(self.settings) as cursor:
            obj, cols = self._table(cursor, table)
            found = tracking.read_state(cursor, obj)
        blocked = tracking.problem(found, obj, cols, user=self.settings.user, wanted=columns)
        if blocked is not None:
            raise blocked

    def read_changes(
        self,
        table: str,
        *,
        since_version: int,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        """``CHANGETABLE(CHANGES table, since_version)`` joined to the table on its key.

        Streams from ``arrow_reader`` like ``read``; ``ChangesExpired`` before the
        first batch, or after the last one if a cleanup ran meanwhile.
        """
        if batch_rows < 1:
            raise InvalidRequest("batch_rows must be at least 1.")
        if isinstance(since_version, bool) or not isinstance(since_version, int):
            raise InvalidRequest("since_version must be an integer.")
        if since_version < 0:
            raise InvalidRequest("since_version must not be negative.")
        with session(self.settings) as cursor:
            obj, all_cols = self._table(cursor, table)
            cols = _pick(obj, all_cols, columns)
            yield from tracking.read_changes(
                cursor,
                obj,
                all_cols,
                cols,
                since_version=since_version,
                batch_rows=batch_rows,
                user=self.settings.user,
            )

    def _table(
        self, cursor: Any, table: str
    ) -> tuple[catalog.CatalogObject, list[catalog.CatalogColumn]]:
        obj = catalog.resolve(cursor, table)
        return obj, catalog.columns(cursor, obj)


def settings_from(params: Mapping[str, Any]) -> ConnectionSettings:
    """The parsed connection string of a connection's auth params."""
    raw = params.get(CONNECTION_STRING)
    if not isinstance(raw, str):
        raise InvalidRequest("auth.params.connectionString is required and must be a string.")
    return parse_connection_string(raw)


def _source_column(column: catalog.CatalogColumn) -> SourceColumn:
    mapping = map_type(column.sql_type)
    return SourceColumn(
        name=column.name,
        original_type=str(column.sql_type),
        xdm_type=mapping.xdm_type,
        arrow_type=mapping.arrow_type,
        nullable=column.nullable,
        primary_key_position=column.primary_key_position,
        lossy=mapping.lossy,
    )


def _pick(
    obj: catalog.CatalogObject, cols: list[catalog.CatalogColumn], wanted: list[str] | None
) -> list[catalog.CatalogColumn]:
    """The requested columns in the requested order, matched case-insensitively like SQL Server."""
    if wanted is None:
        return cols
    by_name = {c.name.lower(): c for c in cols}
    picked: list[catalog.CatalogColumn] = []
    for name in wanted:
        found = by_name.get(name.lower())
        if found is None:
            raise SourceConfigError(f"Column '{name[:128]}' is not in {obj.path}.")
        picked.append(found)
    return picked
