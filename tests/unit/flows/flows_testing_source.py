"""An in-memory source connector and sample rows shared by the flows tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.connectors.base import (
    CheckResult,
    Connector,
    ReadWindow,
    SourceObject,
    TableSchema,
)
from flowservice.errors import TransientSourceError

T0 = datetime(2024, 3, 1, tzinfo=UTC)
PASSWORD = "Sup3r-Secret!"
SCHEMA = pa.schema(
    [
        ("Id", pa.int64()),
        ("Name", pa.string()),
        ("Age", pa.string()),
        ("UpdatedAt", pa.timestamp("us", tz="UTC")),
    ]
)


def rows(n: int, *, start_id: int = 0, bad_every: int = 0) -> pa.Table:
    ids = list(range(start_id, start_id + n))
    return pa.table(
        {
            "Id": ids,
            "Name": [f"name-{i}" for i in ids],
            "Age": ["x" if bad_every and i % bad_every == 0 else str(20 + i % 50) for i in ids],
            # one row per minute from T0
            "UpdatedAt": pa.array(
                [T0 + timedelta(minutes=i) for i in ids], pa.timestamp("us", tz="UTC")
            ),
        },
        schema=SCHEMA,
    )


class TableConnector(Connector):
    """A source connector over in-memory Arrow tables, honouring the read contract."""

    connection_spec_id = "test-in-memory"
    name = "in-memory"

    def __init__(self, tables: Mapping[str, pa.Table]) -> None:
        super().__init__({"connectionString": f"Password={PASSWORD}"})
        self.tables = dict(tables)
        self.reads = 0
        self.fail_after_batches: int | None = None
        self.failures_left = 0
        self.failure: Exception = TransientSourceError("connection reset by peer")
        self.between_batches: threading.Event | None = None
        self.paused = threading.Event()

    def check(self) -> CheckResult:
        return CheckResult(ok=True)

    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        return [SourceObject(name, "table") for name in sorted(self.tables)][start:limit]

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
        self.reads += 1
        data = self.tables[table]
        if window is not None:
            column = data[window.column]
            mask = pc.less(column, pa.scalar(window.end, column.type))
            if window.start is not None:
                mask = pc.and_(mask, pc.greater_equal(column, pa.scalar(window.start, column.type)))
            data = data.filter(mask)
        if columns is not None:
            data = data.select(columns)
        for index, batch in enumerate(data.to_batches(max_chunksize=batch_rows)):
            if (
                self.fail_after_batches is not None
                and index == self.fail_after_batches
                and self.failures_left
            ):
                self.failures_left -= 1
                raise self.failure
            if self.between_batches is not None and index == 1:
                self.paused.set()
                self.between_batches.wait(5)
            yield batch
