"""The lake's own Parquet writer: files, row groups, statistics, one commit per batch."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.errors import LakeError
from flowservice.lake import Dataset, LakeLocation
from flowservice.lake.parquet_files import (
    DataFileWriter,
    FileLayout,
    file_statistics,
    write_stream,
)

# Every column a generated batch may carry, always with the same type (a name keeps its type).
POOL: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "qty": pa.int32(),
    "name": pa.string(),
    "ratio": pa.float64(),
    "price": pa.decimal128(12, 2),
    "day": pa.date32(),
    "at": pa.timestamp("us", tz="UTC"),
    "flag": pa.bool_(),
    "blob": pa.binary(),
}
_UTC = dt.UTC
_FIXTURE_CHECK = [HealthCheck.function_scoped_fixture]
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": st.integers(-(2**63), 2**63 - 1),
    "qty": st.integers(-(2**31), 2**31 - 1),
    "name": st.text(max_size=12),
    "ratio": st.floats(allow_nan=True, allow_infinity=True),
    "price": st.decimals(
        min_value=Decimal("-9999999999.99"), max_value=Decimal("9999999999.99"), places=2
    ),
    "day": st.dates(),
    "at": st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2200, 1, 1),
        timezones=st.just(_UTC),
    ),
    "flag": st.booleans(),
    "blob": st.binary(max_size=8),
}


@st.composite
def _batches(draw: st.DrawFn) -> pa.Table:
    names = draw(st.lists(st.sampled_from(sorted(POOL)), min_size=1, max_size=5, unique=True))
    rows = draw(st.integers(0, 12))
    columns = {
        n: pa.array(draw(st.lists(st.none() | _VALUES[n], min_size=rows, max_size=rows)), POOL[n])
        for n in names
    }
    return pa.table(columns)


def _fs(location: LakeLocation) -> tuple[pafs.FileSystem, str]:
    return location.filesystem()


def _canonical_rows(table: pa.Table, columns: list[str]) -> list[tuple[Any, ...]]:
    """Rows as tuples over ``columns`` (absent: None), NaN made comparable, sorted."""
    listed = table.to_pylist()

    def key(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        return value

    shaped = [tuple(key(row.get(c)) for c in columns) for row in listed]
    return sorted(shaped, key=repr)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(st.sampled_from(["append", "overwrite"]), _batches()), max_size=5))
def test_any_appends_and_overwrites_read_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, pa.Table]]
) -> None:
    location = LakeLocation.local(tmp_path_factory.mktemp("lake") / "ds")
    dataset = Dataset(location)
    model: list[pa.Table] = []
    for step, (mode, data) in enumerate(steps):
        result = dataset.write_batch(data, mode="overwrite" if mode == "overwrite" else "append")
        assert result.record_count == data.num_rows
        assert result.version == step  # one commit each, new columns or not
        model = [data] if mode == "overwrite" else [*model, data]
    if not steps:
        return
    stored = DeltaTable(location.uri).to_pyarrow_table()
    columns = stored.column_names
    expected: list[tuple[Any, ...]] = []
    for data in model:
        expected += _canonical_rows(data, columns)
    assert _canonical_rows(stored, columns) == sorted(expected, key=repr)
    assert len(dataset.batches()) == len(steps)


def _expected_bound(value: Any) -> Any:
    """A pyarrow-computed bound the way delta-rs writes it in ``add.stats``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        millis = value.microsecond // 1000
        text = value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{text}.{millis:03d}Z" if millis else f"{text}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_batches(), group_rows=st.integers(1, 5))
def test_add_statistics_equal_pyarrows_own(
    tmp_path_factory: pytest.TempPathFactory, data: pa.Table, group_rows: int
) -> None:
    root = tmp_path_factory.mktemp("files")
    layout = FileLayout(row_group_rows=group_rows, target_file_bytes=None)
    adds = write_stream(pafs.LocalFileSystem(), str(root), data.schema, [data], layout)
    assert len(adds) == (1 if data.num_rows else 0)
    for add in adds:
        stats = json.loads(add.stats)
        written = pq.read_table(root / add.path)
        assert stats["numRecords"] == written.num_rows == data.num_rows
        assert add.size == (root / add.path).stat().st_size
        for name in data.column_names:
            column = written.column(name)
            if pa.types.is_binary(column.type):
                assert name not in stats["nullCount"] and name not in stats["minValues"]
                continue
            assert stats["nullCount"][name] == column.null_count
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            low, high = _expected_bound(low), _expected_bound(high)
            if low is None or high is None:
                assert name not in stats["minValues"] and name not in stats["maxValues"]
            else:
                assert stats["minValues"][name] == low
                assert stats["maxValues"][name] == high


def test_struct_statistics_nest_and_only_the_first_columns_are_indexed(tmp_path: Path) -> None:
    point = pa.struct([("x", pa.int64()), ("label", pa.string())])
    data = pa.table(
        {
            "p": pa.array([{"x": 3, "label": "b"}, None, {"x": None, "label": "a"}], point),
            "n": pa.array([1, 2, 3], pa.int64()),
        }
    )
    writer = DataFileWriter(pafs.LocalFileSystem(), str(tmp_path), data.schema)
    writer.write(data)
    (add,) = writer.finish()
    stats = json.loads(add.stats)
    assert stats["minValues"] == {"p": {"x": 3, "label": "a"}, "n": 1}
    assert stats["nullCount"] == {"p": {"x": 2, "label": 1}, "n": 0}
    metadata = pq.ParquetFile(tmp_path / add.path).metadata
    first_two = file_statistics(metadata, data.schema, indexed_columns=2)
    assert first_two["nullCount"] == {"p": {"x": 2, "label": 1}}
    assert "n" not in first_two["minValues"]


def test_batches_are_gathered_into_row_groups_and_files_roll_over(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.int64()), ("note", pa.string())])
    layout = FileLayout(row_group_rows=100, target_file_bytes=2_000)

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, 1_000, 37):
            ids = list(range(start, min(start + 37, 1_000)))
            yield pa.record_batch([pa.array(ids, pa.int64()), [f"n{i}" for i in ids]], schema)

    adds = write_stream(pafs.LocalFileSystem(), str(tmp_path), schema, batches(), layout)
    assert len(adds) > 1
    ids: list[int] = []
    for add in adds:
        metadata = pq.ParquetFile(tmp_path / add.path).metadata
        groups = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
        assert all(rows == 100 for rows in groups[:-1]) and 0 < groups[-1] <= 100
        ids += pq.read_table(tmp_path / add.path).column("id").to_pylist()
        assert metadata.row_group(0).column(0).compression == "UNCOMPRESSED"
    assert ids == list(range(1_000))
    assert len({add.path for add in adds}) == len(adds)


def _failing(after: int, schema_from: pa.Table) -> Iterator[pa.RecordBatch]:
    yield from schema_from.to_batches(max_chunksize=10)[:after]
    raise ConnectionResetError("source went away")


def _data_files(root: Path) -> set[str]:
    return {p.name for p in root.glob("*.parquet")}


def test_a_failure_mid_stream_commits_nothing_and_leaves_no_files(tmp_path: Path) -> None:
    data = pa.table({"id": pa.array(range(100), pa.int64()), "name": [str(i) for i in range(100)]})
    location = LakeLocation.local(tmp_path / "ds")
    dataset = Dataset(location)
    with pytest.raises(ConnectionResetError):
        dataset.write_batch(_failing(5, data))
    assert not dataset.exists()  # a first batch that fails creates no table either
    assert dataset.write_batch(data).version == 0
    before = _data_files(tmp_path / "ds")
    for mode in ("append", "overwrite"):
        with pytest.raises(ConnectionResetError):
            dataset.write_batch(_failing(3, data), mode=mode)  # type: ignore[arg-type]
        assert dataset.version() == 0
        assert DeltaTable(location.uri).to_pyarrow_table().num_rows == 100
    assert _data_files(tmp_path / "ds") == before


def test_a_failure_in_an_append_that_adds_columns_raises_the_sources_error(
    tmp_path: Path,
) -> None:
    data = pa.table({"id": pa.array(range(100), pa.int64())})
    dataset = Dataset(LakeLocation.local(tmp_path / "ds"))
    dataset.write_batch(data)
    wider = data.append_column("name", pa.array([str(i) for i in range(100)]))
    with pytest.raises(ConnectionResetError):
        dataset.write_batch(_failing(3, wider))
    assert dataset.version() == 0
    assert dataset.fields() is not None and len(dataset.fields() or ()) == 1


def test_a_failed_commit_is_a_lake_error_and_the_table_stays_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pa.table({"id": pa.array(range(10), pa.int64())})
    dataset = Dataset(LakeLocation.local(tmp_path / "ds"))
    dataset.write_batch(data)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("store unavailable")

    monkeypatch.setattr(DeltaTable, "create_write_transaction", refuse)
    with pytest.raises(LakeError, match="committing the batch failed"):
        dataset.write_batch(data)
    monkeypatch.undo()
    assert dataset.version() == 0
    assert dataset.write_batch(data).version == 1
    assert DeltaTable(dataset.location.uri).to_pyarrow_table().num_rows == 20


def test_first_batch_creates_the_table_in_one_commit_with_the_lakes_configuration(
    tmp_path: Path,
) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "ds"))
    result = dataset.write_batch(
        pa.table({"id": pa.array([1, 2], pa.int64())}),
        mode="overwrite",
        commit_metadata={"runId": "r"},
    )
    assert result.version == 0 and result.record_count == 2
    (batch,) = dataset.batches()
    assert batch.mode == "overwrite" and batch.metadata == {"runId": "r"}
    assert batch.record_count == 2 and batch.size_bytes == result.size_bytes > 0
    table = DeltaTable(dataset.location.uri)
    assert table.metadata().configuration["delta.targetFileSize"] == str(16 * 1024 * 1024)
