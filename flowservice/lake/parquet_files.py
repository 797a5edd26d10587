"""Data files written by the lake itself: Parquet through pyarrow, each with its Delta ``add``.

``write_batch`` streams its batches through a ``DataFileWriter`` and merges rewrite files
with ``write_file``; both then commit the returned ``AddAction``s through delta-rs'
transaction API. The writer keeps at most one row group of Arrow data in memory (plus the
Parquet encoder's pages), where delta-rs' ``write_deltalake`` kept ~190 MB of working
memory. Files and their statistics match what delta-rs writes (docs/lake.md, "Data
files"): uncompressed, dictionary pages of at most 16 KiB, row groups of ``ROW_GROUP_ROWS``,
a new file every ``delta.targetFileSize`` bytes, and statistics (row count, bounds, null
counts) for the first 32 columns, taken from the Parquet footer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

# Parquet row groups of 256 Ki rows (delta-rs' default is 1 Mi): the writer holds one row
# group being encoded, so a 5 M-row write peaks ~60 MB lower, for a few percent more CPU
ROW_GROUP_ROWS = 262_144
# Data files of ~16 MiB (delta-rs' default is 100 MiB), set on every table the lake
# creates: a merge rewrites each file holding a changed row and holds up to one file's
# rows while it does, so small files bound a merge's memory and work (docs/lake.md).
TARGET_FILE_BYTES = 16 * 1024 * 1024
TARGET_FILE_SIZE_KEY = "delta.targetFileSize"
DELTA_DEFAULT_FILE_BYTES = 100 * 1024 * 1024
# Dictionary pages of at most 16 KiB (the Parquet writer's default is 1 MiB): a column of
# mostly distinct values (names, notes) then falls back to plain encoding after a few
# hundred values instead of hashing ~50,000 first, which made rewriting a 1 M-row table
# take ~2.1 s of CPU instead of ~1.2 s; files grow ~5 % (docs/lake.md, "Merge writes").
DICTIONARY_PAGE_BYTES = 16 * 1024
# Delta's default for statistics: the first 32 leaf columns (delta.dataSkippingNumIndexedCols)
INDEXED_COLUMNS_KEY = "delta.dataSkippingNumIndexedCols"
DEFAULT_INDEXED_COLUMNS = 32
_STREAM_BUFFER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FileLayout:
    """How data files are cut: rows per row group, bytes per file, columns with statistics."""

    row_group_rows: int = ROW_GROUP_ROWS
    target_file_bytes: int | None = TARGET_FILE_BYTES  # None: one file, however large
    indexed_columns: int = DEFAULT_INDEXED_COLUMNS

    @classmethod
    def of_table(cls, configuration: Mapping[str, str | None]) -> FileLayout:
        """The layout a table's configuration asks for (delta-rs' defaults where unset)."""
        size = configuration.get(TARGET_FILE_SIZE_KEY)
        indexed = configuration.get(INDEXED_COLUMNS_KEY)
        return cls(
            target_file_bytes=int(size) if size else DELTA_DEFAULT_FILE_BYTES,
            indexed_columns=int(indexed) if indexed else DEFAULT_INDEXED_COLUMNS,
        )


@dataclass
class _OpenFile:
    path: str
    stream: pa.NativeFile
    writer: pq.ParquetWriter
    rows: int = 0


@dataclass
class DataFileWriter:
    """Writes Arrow batches into new Parquet files below ``root``; ``finish`` gives their adds.

    Batches are gathered into row groups of ``layout.row_group_rows`` (a write call is a
    row group in pyarrow, and the connector's batches are smaller). A file holds the rows
    that fit ``layout.target_file_bytes`` at the bytes per row of the files written so far
    (of the Arrow data, for the first), and is closed early should it reach that size: a
    row group never spans files, so a file's last group is cut to its remaining rows (or
    left out when under a quarter of a group), as delta-rs cuts its files. Nothing is
    committed here: until the caller commits the actions, the files are invisible.
    """

    fs: pafs.FileSystem
    root: str
    schema: pa.Schema
    layout: FileLayout = field(default_factory=FileLayout)
    written: list[str] = field(default_factory=list, init=False)  # every file started
    _adds: list[AddAction] = field(default_factory=list, init=False)
    _pending: list[pa.RecordBatch] = field(default_factory=list, init=False)
    _pending_rows: int = field(default=0, init=False)
    _file: _OpenFile | None = field(default=None, init=False)
    _sizes: tuple[int, int] = field(default=(0, 0), init=False)  # bytes, rows of closed files

    def __post_init__(self) -> None:
        # Parquet files may declare columns optional that the table declares required.
        self._file_schema = pa.schema([f.with_nullable(True) for f in self.schema])

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        """Add rows (in ``schema``); a full row group is encoded at once."""
        batches = data.to_batches() if isinstance(data, pa.Table) else [data]
        for batch in batches:
            if batch.num_rows:
                self._pending.append(batch)
                self._pending_rows += batch.num_rows
            while self._pending_rows >= self._group_rows():
                self._flush(self._group_rows())

    def finish(self) -> list[AddAction]:
        """Write what is left and close the last file; the add action of every file."""
        while self._pending_rows:
            self._flush(min(self._pending_rows, self._group_rows()))
        self._close_file()
        return list(self._adds)

    def _group_rows(self) -> int:
        """Rows of the next row group: a full group, or what the open file has room for."""
        room = self._room()
        if room is None:
            return self.layout.row_group_rows
        return max(1, min(self.layout.row_group_rows, room))

    def _room(self) -> int | None:
        """Rows the open file (or, with none open, a new one) can still take; None: any."""
        target = self.layout.target_file_bytes
        if target is None:
            return None
        written_bytes, written_rows = self._sizes
        if written_rows:
            per_row = written_bytes / written_rows
        else:
            pending = sum(b.nbytes for b in self._pending)
            per_row = pending / self._pending_rows if self._pending_rows else 1.0
        file_rows = max(1, int(target / max(per_row, 1.0)))
        return max(0, file_rows - (self._file.rows if self._file is not None else 0))

    def abort(self) -> None:
        """Close the open file without its statistics and delete every file written (best
        effort: a file that cannot be deleted stays an orphan no commit references)."""
        self._pending.clear()
        self._pending_rows = 0
        if self._file is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._file.writer.close()
                self._file.stream.close()
            self._file = None
        for path in self.written:
            with contextlib.suppress(OSError, pa.ArrowException):
                self.fs.delete_file(f"{self.root}/{path}")

    def _flush(self, rows: int) -> None:
        """Write the first ``rows`` pending rows as one row group."""
        if self._file is not None and self._room() == 0:
            self._close_file()  # full by the latest estimate of bytes per row
        taken: list[pa.RecordBatch] = []
        left = rows
        while left:
            batch = self._pending[0]
            if batch.num_rows <= left:
                taken.append(self._pending.pop(0))
                left -= batch.num_rows
            else:
                taken.append(batch.slice(0, left))
                self._pending[0] = batch.slice(left)
                left = 0
        self._pending_rows -= rows
        group = pa.Table.from_batches(taken, schema=self.schema)
        open_file = self._file if self._file is not None else self._open_file()
        open_file.writer.write_table(group.cast(self._file_schema), row_group_size=rows)
        open_file.rows += rows
        target = self.layout.target_file_bytes
        room = self._room()
        # a room under a quarter of a group is left empty rather than filled by a tiny group
        if target is not None and (
            open_file.stream.tell() >= target
            or (room is not None and room < self.layout.row_group_rows // 4)
        ):
            self._close_file()

    def _open_file(self) -> _OpenFile:
        path = f"part-{len(self.written):05d}-{uuid.uuid4()}-c000.parquet"
        if not self.written and isinstance(self.fs, pafs.LocalFileSystem):
            # a first batch creates the table's directory (object stores have none)
            self.fs.create_dir(self.root, recursive=True)
        self.written.append(path)
        stream = self.fs.open_output_stream(f"{self.root}/{path}", buffer_size=_STREAM_BUFFER_BYTES)
        writer = pq.ParquetWriter(
            stream,
            self._file_schema,
            compression="none",
            dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
        )
        self._file = _OpenFile(path, stream, writer)
        return self._file

    def _close_file(self) -> None:
        if self._file is None:
            return
        open_file, self._file = self._file, None
        open_file.writer.close()
        metadata: pq.FileMetaData = open_file.writer.writer.metadata
        open_file.stream.close()
        size = int(self.fs.get_file_info(f"{self.root}/{open_file.path}").size or 0)
        self._sizes = (self._sizes[0] + size, self._sizes[1] + open_file.rows)
        stats = file_statistics(metadata, self.schema, self.layout.indexed_columns)
        self._adds.append(
            AddAction(
                path=open_file.path,
                size=size,
                partition_values={},
                modification_time=int(dt.datetime.now(dt.UTC).timestamp() * 1000),
                data_change=True,
                stats=json.dumps(stats, separators=(",", ":")),
            )
        )


def write_file(
    fs: pafs.FileSystem,
    root: str,
    rows: pa.Table,
    *,
    keep: pa.Array | None = None,
    row_group_rows: int,
    indexed_columns: int = DEFAULT_INDEXED_COLUMNS,
) -> AddAction:
    """One new data file of ``rows`` (those ``keep`` marks), written ``row_group_rows`` at
    a time, so filtering a file being rewritten never copies more than a slice of it."""
    layout = FileLayout(
        row_group_rows=row_group_rows, target_file_bytes=None, indexed_columns=indexed_columns
    )
    pieces = (
        rows.slice(start, row_group_rows)
        if keep is None
        else rows.slice(start, row_group_rows).filter(keep.slice(start, row_group_rows))
        for start in range(0, rows.num_rows, row_group_rows)
    )
    added = write_stream(fs, root, rows.schema, pieces, layout)
    if len(added) != 1:
        raise ValueError("write_file needs at least one row to write")
    return added[0]


def write_stream(
    fs: pafs.FileSystem,
    root: str,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch | pa.Table],
    layout: FileLayout,
) -> list[AddAction]:
    """Every batch into files below ``root``; on any error the files are deleted and the
    error raised (nothing is committed either way)."""
    writer = DataFileWriter(fs, root, schema, layout)
    try:
        for batch in batches:
            writer.write(batch)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def file_statistics(
    metadata: pq.FileMetaData, schema: pa.Schema, indexed_columns: int
) -> dict[str, Any]:
    """Delta ``add.stats`` as delta-rs writes them, from the Parquet footer's column chunks.

    ``numRecords``; ``minValues``/``maxValues`` of numbers, booleans, text, dates,
    date-times (to the millisecond, in UTC) and decimals (as JSON numbers), none for
    non-finite floats; ``nullCount`` of every leaf. Binary columns get none of them.
    Struct columns nest, as in delta-rs. Only the first ``indexed_columns`` leaf columns
    get statistics (-1: all).
    """
    leaves = _leaves(schema)
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    nulls: dict[str, Any] = {}
    for index, (path, leaf_type) in enumerate(leaves):
        if 0 <= indexed_columns <= index:
            break
        minimum: Any = None
        maximum: Any = None
        null_count = 0
        bounded = True
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(index).statistics
            if stats is None or not stats.has_null_count:
                bounded, null_count = False, -1
                break
            null_count += stats.null_count
            chunk_rows = metadata.row_group(group).num_rows
            if not stats.has_min_max:
                # a chunk of only nulls (or of floats, only NaN) has no bounds and adds none;
                # any other chunk without them (a value too long for statistics) has unknown ones
                floats = pa.types.is_floating(leaf_type)
                bounded = bounded and (floats or stats.null_count == chunk_rows)
                continue
            minimum = stats.min if minimum is None else min(minimum, stats.min)
            maximum = stats.max if maximum is None else max(maximum, stats.max)
        if null_count >= 0 and not _is_binary(leaf_type):
            _put(nulls, path, null_count)
        shown_low, shown_high = _shown(minimum, leaf_type), _shown(maximum, leaf_type)
        if bounded and shown_low is not None and shown_high is not None:
            _put(low, path, shown_low)
            _put(high, path, shown_high)
    return {
        "numRecords": metadata.num_rows,
        "minValues": low,
        "maxValues": high,
        "nullCount": nulls,
    }


def _leaves(schema: pa.Schema) -> list[tuple[tuple[str, ...], pa.DataType]]:
    """The Parquet leaf columns of ``schema`` in file order: struct fields flattened."""
    found: list[tuple[tuple[str, ...], pa.DataType]] = []

    def visit(path: tuple[str, ...], t: pa.DataType) -> None:
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                visit((*path, t.field(i).name), t.field(i).type)
        else:
            found.append((path, t))

    for f in schema:
        visit((f.name,), f.type)
    return found


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for name in path[:-1]:
        target = target.setdefault(name, {})
    target[path[-1]] = value


def _shown(value: Any, t: pa.DataType) -> Any:
    """A bound as delta-rs writes it in JSON, or None when it writes none."""
    if value is None or _is_binary(t) or pa.types.is_nested(t):
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _timestamp(value: dt.datetime) -> str:
    """RFC 3339 in UTC, cut to the millisecond, fraction only when non-zero (delta-rs' form)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    millis = value.microsecond // 1000
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _is_binary(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    )
