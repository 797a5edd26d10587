"""The two sides a verification reads: the source through its connector, the dataset's table.

Source rows are turned into what the dataset would hold (the flow's mapping, then
the lake's own casts to the dataset's column types), so equal rows hash equally.
When the key is one integer column read as is, a pass over some buckets reads only
their key ranges (``Connector.read(key_range=...)``), merged where they touch; too
many ranges, and the pass reads the whole table instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.connectors.base import KeyRange
from flowservice.flows.read_ahead import read_ahead
from flowservice.flows.run_copy import BatchMapper
from flowservice.lake import Dataset
from flowservice.lake.conform import conform_batch
from flowservice.lake.key_checksums import BUCKET, Buckets, dataset_rows

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_RANGE_READS = 64  # key-range queries per pass; beyond, one read of the whole table
_MAX_BUCKETS_TO_RANGES = 100_000  # bucket ids turned into ranges in Python, at most
READ_AHEAD_BATCHES = 2


class KeyRangeSource(Protocol):
    """What a verification needs of a connector (``Connector`` has it)."""

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
    ) -> Iterator[pa.RecordBatch]: ...


class SourceRows:
    """``RowSide`` over a source table: its rows as the dataset would store them."""

    def __init__(
        self,
        connector: KeyRangeSource,
        table: str,
        schema: pa.Schema,
        *,
        columns: list[str] | None = None,
        mapper: BatchMapper | None = None,
        range_key: str | None = None,
        batch_rows: int = 65536,
    ) -> None:
        """``schema``: the compared columns with the dataset's types; ``columns``: what to
        read (default ``schema``'s names); ``range_key``: the integer key column whose
        ranges the connector can read (only without a mapping)."""
        if range_key is not None and mapper is not None:
            raise ValueError("key ranges are read only when the rows are not mapped")
        self._connector = connector
        self._table = table
        self.schema = schema
        self._columns = list(schema.names) if columns is None and mapper is None else columns
        self._mapper = mapper
        self._range_key = range_key
        self._batch_rows = batch_rows

    def rows(self, within: Sequence[Buckets] | None) -> pa.RecordBatchReader:
        ranges: list[KeyRange | None] = [None]
        if within is not None and self._range_key is not None:
            found = key_ranges(within, self._range_key)
            if found is not None:
                ranges = list(found)
        return pa.RecordBatchReader.from_batches(
            self.schema, read_ahead(lambda: self._batches(ranges), depth=READ_AHEAD_BATCHES)
        )

    def _batches(self, ranges: list[KeyRange | None]) -> Iterator[pa.RecordBatch]:
        names = self.schema.names
        for key_range in ranges:
            for batch in self._connector.read(
                self._table, columns=self._columns, batch_rows=self._batch_rows, key_range=key_range
            ):
                rows = batch if self._mapper is None else self._mapper.apply(batch).records
                if rows.num_rows:
                    yield conform_batch(rows.select(names), self.schema)


class DatasetRows:
    """``RowSide`` over a dataset's current version (rows soft-deleted left out)."""

    def __init__(self, dataset: Dataset, schema: pa.Schema, *, range_key: str | None = None):
        self._dataset = dataset
        self.schema = schema
        self._range_key = range_key

    def rows(self, within: Sequence[Buckets] | None) -> pa.RecordBatchReader:
        if within is None or self._range_key is None:
            return dataset_rows(self._dataset, self.schema)
        ranges = key_ranges(within, self._range_key)
        bounds = [(r.start, r.end) for r in ranges] if ranges is not None else [_span(within)]
        return dataset_rows(self._dataset, self.schema, key_ranges=(self._range_key, bounds))


def key_ranges(within: Sequence[Buckets], column: str) -> list[KeyRange] | None:
    """The integer key ranges covering ``within``, touching ones merged; None when more than
    ``MAX_RANGE_READS`` remain (read everything then)."""
    if sum(b.ids.num_rows for b in within) > _MAX_BUCKETS_TO_RANGES:
        return None
    bounds: list[tuple[int, int]] = []
    for buckets in within:
        for bucket in buckets.ids.column(BUCKET).to_pylist():
            bounds.append((bucket << buckets.shift, (bucket + 1) << buckets.shift))
    bounds.sort()
    merged: list[list[int]] = []
    for start, end in bounds:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if len(merged) > MAX_RANGE_READS:
        return None
    return [
        KeyRange(
            column,
            None if start <= INT64_MIN else start,
            None if end > INT64_MAX else end,
        )
        for start, end in merged
    ]


def _span(within: Sequence[Buckets]) -> tuple[int | None, int | None]:
    """One half-open key range holding every bucket of ``within``."""
    low, high = INT64_MAX, INT64_MIN
    for buckets in within:
        if not buckets.ids.num_rows:
            continue
        extremes = pc.min_max(buckets.ids.column(BUCKET))
        low = min(low, extremes["min"].as_py() << buckets.shift)
        high = max(high, (extremes["max"].as_py() + 1) << buckets.shift)
    return low, None if high > INT64_MAX else high
