"""``SqlServerConnector``: connection test, explore, preview and Arrow reads for SQL Server."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from flowservice.connectors.base import (
    CheckResult,
    Connector,
    ReadWindow,
    SourceObject,
    TableSchema,
)
from flowservice.connectors.sqlserver.connection_string import (
    ConnectionSettings,
    mask_password,
    parse_connection_string,
)
from flowservice.errors import InvalidRequest

CONNECTION_STRING = "connectionString"


class SqlServerConnector(Connector):
    """A SQL Server database reached with an ADO.NET connection string."""

    connection_spec_id: ClassVar[str] = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
    name: ClassVar[str] = "sql-server"

    @classmethod
    def validate_auth(cls, spec_name: str, params: Mapping[str, Any]) -> None:
        settings_from(params)

    @classmethod
    def mask_secret(cls, key: str, value: str) -> str:
        if key == CONNECTION_STRING and isinstance(value, str):
            return mask_password(value)
        return "****"

    def check(self) -> CheckResult:
        raise NotImplementedError

    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        raise NotImplementedError

    def describe(self, table: str) -> TableSchema:
        raise NotImplementedError

    def preview(self, table: str, *, count: int = 100) -> tuple[TableSchema, list[dict[str, Any]]]:
        raise NotImplementedError

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError


def settings_from(params: Mapping[str, Any]) -> ConnectionSettings:
    """The parsed connection string of a connection's auth params."""
    raw = params.get(CONNECTION_STRING)
    if not isinstance(raw, str):
        raise InvalidRequest("auth.params.connectionString is required and must be a string.")
    return parse_connection_string(raw)
