from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from flowservice.errors import Conflict, InvalidRequest, LakeError, SchemaMismatch
from flowservice.lake import Dataset, LakeLocation, XdmField, count_rows, preview
from flowservice.lake.dataset import TARGET_FILE_BYTES

ORDERS = (
    XdmField("id", "integer", nullable=False),
    XdmField("amount", "decimal(19,4)"),
    XdmField("placed", "date-time"),
    XdmField("customer", "string"),
)


def _orders(start: int, n: int) -> pa.RecordBatch:
    ids = list(range(start, start + n))
    return pa.record_batch(
        {
            "id": pa.array(ids, pa.int32()),
            "amount": pa.array([Decimal(i) / 100 for i in ids], pa.decimal128(10, 2)),
            "placed": pa.array(
                [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i) for i in ids], pa.timestamp("ms")
            ),
            "customer": [f"cüstömer-{i}" for i in ids],
        }
    )


def _stream(batches: int, size: int) -> Iterator[pa.RecordBatch]:
    for b in range(batches):
        yield _orders(b * size, size)


@pytest.fixture
def orders(tmp_path: Path) -> Dataset:
    return Dataset.create(LakeLocation.local(tmp_path / "orders"), name="orders", fields=ORDERS)


def test_create_with_schema_makes_the_table_at_once(orders: Dataset) -> None:
    assert orders.exists()
    assert orders.fields() == ORDERS
    assert orders.batches() == []


def test_create_twice_is_a_conflict(orders: Dataset) -> None:
    with pytest.raises(Conflict):
        Dataset.create(orders.location, fields=ORDERS)


def test_each_write_is_one_commit_with_its_metadata(orders: Dataset) -> None:
    first = orders.write_batch(
        _stream(5, 200), commit_metadata={"batchId": "b-1", "windowEnd": "2024-01-02"}
    )
    second = orders.write_batch(_orders(1000, 3), commit_metadata={"batchId": "b-2"})
    assert (first.version, first.record_count) == (1, 1000)
    assert (second.version, second.record_count) == (2, 3)
    assert first.size_bytes > 0 and second.size_bytes > 0
    batches = orders.batches()
    assert [b.version for b in batches] == [2, 1]
    assert [b.record_count for b in batches] == [3, 1000]
    assert [b.size_bytes for b in batches] == [second.size_bytes, first.size_bytes]
    assert batches[1].metadata == {"batchId": "b-1", "windowEnd": "2024-01-02"}
    assert batches[0].mode == "append"
    assert count_rows(orders) == 1003


def test_find_commit_detects_a_replay(orders: Dataset) -> None:
    orders.write_batch(_orders(0, 2), commit_metadata={"runId": "r1", "windowEnd": "A"})
    orders.write_batch(_orders(2, 2), commit_metadata={"runId": "r2", "windowEnd": "B"})
    found = orders.find_commit(runId="r1", windowEnd="A")
    assert found is not None and found.version == 1 and found.record_count == 2
    assert orders.find_commit(runId="r1", windowEnd="B") is None
    assert orders.find_commit(runId="r3") is None
    assert orders.find_commit(within=1, runId="r1") is None
    assert orders.find_commit(within=2, runId="r1") is not None


def test_overwrite_replaces_the_rows(orders: Dataset) -> None:
    orders.write_batch(_orders(0, 10))
    result = orders.write_batch(_orders(100, 4), mode="overwrite")
    assert result.record_count == 4
    assert count_rows(orders) == 4
    assert orders.batches()[0].mode == "overwrite"


def test_values_are_cast_exactly_and_read_back_by_duckdb(orders: Dataset) -> None:
    orders.write_batch(_orders(7, 1))
    table = preview(orders, 10)
    assert table.schema.field("amount").type == pa.decimal128(19, 4)
    row = table.to_pylist()[0]
    assert row["id"] == 7
    assert row["amount"] == Decimal("0.0700")
    assert row["placed"] == dt.datetime(2024, 1, 1, 0, 7, tzinfo=dt.UTC)
    assert row["customer"] == "cüstömer-7"


def test_duckdb_reads_the_files_as_a_plain_delta_table(orders: Dataset) -> None:
    orders.write_batch(_orders(0, 5))
    orders.write_batch(_orders(0, 5), mode="overwrite")
    dataset = orders.to_pyarrow_dataset()
    assert dataset is not None
    with duckdb.connect() as con:
        con.register("t", dataset)
        rows = con.sql("SELECT count(*), sum(id) FROM t").fetchall()
    assert rows == [(5, 10)]


def test_name_only_dataset_takes_its_schema_from_the_first_batch(tmp_path: Path) -> None:
    dataset = Dataset.create(LakeLocation.local(tmp_path / "d"))
    assert not dataset.exists() and dataset.fields() is None
    assert preview(dataset).num_rows == 0 and count_rows(dataset) == 0
    dataset.write_batch(_orders(0, 3))
    assert dataset.fields() == (
        XdmField("id", "int"),
        XdmField("amount", "decimal(10,2)"),
        XdmField("placed", "date-time"),
        XdmField("customer", "string"),
    )


def test_evolve_adds_columns_and_freeze_refuses_them(tmp_path: Path) -> None:
    location = LakeLocation.local(tmp_path / "d")
    Dataset.create(location, fields=ORDERS)
    extra = _orders(0, 2).append_column("channel", pa.array(["web", "shop"]))
    frozen = Dataset(location, policy="freeze")
    with pytest.raises(SchemaMismatch, match="'channel'"):
        frozen.write_batch(extra)
    assert frozen.batches() == []
    result = Dataset(location).write_batch(extra)
    assert result.added_columns == ("channel",)
    assert frozen.fields() == (*ORDERS, XdmField("channel", "string"))


def test_a_value_that_does_not_fit_fails_midway_and_nothing_is_visible(orders: Dataset) -> None:
    orders.write_batch(_orders(0, 3))

    def stream() -> Iterator[pa.RecordBatch]:
        yield from _stream(3, 100)
        # Sub-microsecond precision would be lost: the whole batch must fail.
        yield pa.record_batch(
            {"id": pa.array([1], pa.int32()), "placed": pa.array([1], pa.timestamp("ns"))}
        )

    with pytest.raises(SchemaMismatch, match="'placed'"):
        orders.write_batch(stream())
    assert count_rows(orders) == 3
    assert len(orders.batches()) == 1
    assert orders.write_batch(_orders(10, 1)).version == 2


def test_a_source_that_raises_midway_leaves_nothing_visible(orders: Dataset) -> None:
    def broken() -> Iterator[pa.RecordBatch]:
        yield from _stream(2, 50)
        raise ConnectionResetError("source went away")

    with pytest.raises(ConnectionResetError):
        orders.write_batch(broken())
    assert count_rows(orders) == 0
    assert orders.write_batch(_orders(0, 1)).record_count == 1


def test_record_batch_reader_is_streamed(orders: Dataset) -> None:
    pulled: list[int] = []

    def produce() -> Iterator[pa.RecordBatch]:
        for i in range(20):
            pulled.append(i)
            yield _orders(i * 10, 10)

    reader = pa.RecordBatchReader.from_batches(_orders(0, 1).schema, produce())
    assert orders.write_batch(reader).record_count == 200
    assert pulled == list(range(20))


def test_empty_stream_commits_an_empty_batch_on_an_existing_table(
    orders: Dataset, tmp_path: Path
) -> None:
    result = orders.write_batch(iter(()), commit_metadata={"runId": "empty"})
    assert result.record_count == 0
    found = orders.find_commit(runId="empty")
    assert found is not None and found.record_count == 0
    with pytest.raises(LakeError, match="empty"):
        Dataset(LakeLocation.local(tmp_path / "new")).write_batch(iter(()))


def test_delete_files_removes_everything(orders: Dataset) -> None:
    orders.write_batch(_orders(0, 2))
    orders.delete_files()
    assert not orders.exists()
    assert not Path(orders.location.uri).exists()
    orders.delete_files()  # deleting again is not an error


def test_preview_limit_is_bounded(orders: Dataset) -> None:
    orders.write_batch(_stream(3, 50))
    assert preview(orders, 5).num_rows == 5
    with pytest.raises(InvalidRequest):
        preview(orders, 0)


def test_commit_metadata_must_be_strings(orders: Dataset) -> None:
    with pytest.raises(TypeError):
        orders.write_batch(_orders(0, 1), commit_metadata={"n": 1})  # type: ignore[dict-item]


def test_concurrent_appends_both_commit(orders: Dataset) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(n: int) -> int:
        return (
            Dataset(orders.location)
            .write_batch(_orders(n * 100, 10), commit_metadata={"w": str(n)})
            .version
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = list(pool.map(write, range(4)))
    assert sorted(versions) == [1, 2, 3, 4]
    assert count_rows(orders) == 40
    assert {b.metadata["w"] for b in orders.batches()} == {"0", "1", "2", "3"}


def test_tables_the_lake_creates_keep_data_files_small(tmp_path: Path) -> None:
    made = [
        Dataset.create(LakeLocation.local(tmp_path / "created"), fields=ORDERS),
        Dataset(LakeLocation.local(tmp_path / "appended")),
        Dataset(LakeLocation.local(tmp_path / "merged")),
    ]
    made[1].write_batch(_orders(0, 1))
    made[2].merge_batch(_orders(0, 1), keys=["id"])
    for dataset in made:
        configuration = DeltaTable(dataset.location.uri).metadata().configuration
        assert configuration["delta.targetFileSize"] == str(TARGET_FILE_BYTES)
