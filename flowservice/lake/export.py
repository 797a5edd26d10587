"""A dataset's current version as one Parquet or CSV file, produced as a stream of bytes.

The snapshot is read as Arrow record batches (``to_pyarrow_dataset().to_batches()``)
and each is encoded as soon as it is read, into a sink that hands the encoded
bytes on: memory holds about one record batch, whatever the dataset's size.
Only the current version is exported, not the union of batches: overwrites and
merges replace rows that earlier batches wrote.

CSV has no nested or binary values, so for CSV ``object`` columns are flattened
into ``parent.child`` columns and ``binary`` values are written as base64 text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Literal, TypeAlias, get_args

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flowservice.errors import InvalidRequest
from flowservice.lake.dataset import Dataset

ExportFormat: TypeAlias = Literal["parquet", "csv"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
MEDIA_TYPES: dict[str, str] = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
}
READ_BATCH_ROWS = 65_536


def export_format(value: str) -> ExportFormat:
    """``value`` as an export format, or ``InvalidRequest`` naming the ones there are."""
    if value == "parquet":
        return "parquet"
    if value == "csv":
        return "csv"
    raise InvalidRequest(
        f"format {value[:40]!r} is not an export format; use one of {', '.join(EXPORT_FORMATS)}"
    )


class _Drain:
    """A write-only file for Arrow's writers that keeps what was written until taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def snapshot_batches(dataset: Dataset) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The current version's schema and its rows, read lazily batch by batch."""
    source = dataset.to_pyarrow_dataset()
    if source is None:
        return pa.schema([]), iter(())
    return source.schema, iter(source.to_batches(batch_size=READ_BATCH_ROWS))


def csv_form(schema: pa.Schema) -> pa.Schema:
    """The schema CSV gets: objects flattened to ``a.b`` columns, binary as text."""
    fields: list[pa.Field] = []
    for f in schema:
        if pa.types.is_struct(f.type):
            inner = csv_form(pa.schema(list(f.type)))
            fields += [pa.field(f"{f.name}.{c.name}", c.type) for c in inner]
        elif pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(pa.field(f.name, f.type))
    return pa.schema(fields)


def _csv_columns(column: pa.Array, field: pa.Field) -> list[pa.Array]:
    if pa.types.is_struct(field.type):
        out: list[pa.Array] = []
        for i, child in enumerate(field.type):
            values = column.field(i)
            if column.null_count:
                # a null object makes each of its columns null
                values = pc.if_else(column.is_valid(), values, pa.scalar(None, child.type))
            out += _csv_columns(values, child)
        return out
    if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
        encoded = [None if v is None else base64.b64encode(v).decode() for v in column.to_pylist()]
        return [pa.array(encoded, pa.string())]
    return [column]


def _csv_batch(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    columns: list[pa.Array] = []
    for column, field in zip(batch.columns, batch.schema, strict=True):
        columns += _csv_columns(column, field)
    return pa.RecordBatch.from_arrays(columns, schema=target)


def export_chunks(dataset: Dataset, file_format: ExportFormat) -> Iterator[bytes]:
    """The dataset's current rows as one file of ``file_format``, as consecutive byte chunks.

    The snapshot is opened before the first chunk is asked for, so a dataset
    that cannot be read fails here, not halfway through a response.
    """
    schema, batches = snapshot_batches(dataset)
    if file_format == "csv":
        return _csv_chunks(schema, batches)
    return _parquet_chunks(schema, batches)


def _parquet_chunks(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    sink = _Drain()
    with pq.ParquetWriter(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            chunk = sink.take()
            if chunk:
                yield chunk
    yield sink.take()


def _csv_chunks(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    target = csv_form(schema)
    sink = _Drain()
    with pacsv.CSVWriter(sink, target) as writer:
        for batch in batches:
            writer.write_batch(_csv_batch(batch, target))
            chunk = sink.take()
            if chunk:
                yield chunk
    # the header alone when there were no rows
    rest = sink.take()
    if rest:
        yield rest
