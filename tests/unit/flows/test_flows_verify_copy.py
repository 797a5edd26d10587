"""verify_copy: a flow's source (an in-memory connector) against its real Delta dataset."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from flowservice.api.services.flow_verify import report_json
from flowservice.connectors.base import (
    CheckResult,
    Connector,
    KeyRange,
    ReadWindow,
    SourceColumn,
    SourceObject,
    TableSchema,
)
from flowservice.errors import InvalidRequest, TransientSourceError
from flowservice.flows.batch_mapping import CompileOnFirstBatch
from flowservice.flows.verify import NotVerifiable, VerifyTarget, check_mirror, verify_copy
from flowservice.flows.verify_compare import Tuning
from flowservice.lake import Dataset, LakeLocation

TABLE = "sales.Orders"
T0 = dt.datetime(2024, 3, 1, 12, 0)  # SQL Server datetime2: naive, read as UTC by the lake


def orders(ids: range | list[int], *, note: str = "") -> pa.Table:
    ids = list(ids)
    return pa.table(
        {
            "OrderID": pa.array(ids, pa.int32()),
            "Customer": [f"customer {i}{note}" for i in ids],
            "Amount": pa.array([i * 1.5 for i in ids], pa.float64()),
            "UpdatedAt": pa.array([T0 + dt.timedelta(minutes=i) for i in ids], pa.timestamp("us")),
        }
    )


class OrdersConnector(Connector):
    """A SQL Server-like source: naive timestamps, a primary key, key-range reads."""

    connection_spec_id = "test-verify"
    name = "verify-test"

    def __init__(self, table: pa.Table, *, primary_key: tuple[str, ...] = ("OrderID",)) -> None:
        super().__init__({})
        self.table = table
        self.key_names = primary_key
        self.ranges: list[KeyRange | None] = []
        self.failure: Exception | None = None  # raised after the first batch of a read

    def check(self) -> CheckResult:
        return CheckResult(ok=True)

    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        return [SourceObject(TABLE, "table")]

    def describe(self, table: str) -> TableSchema:
        columns = [
            SourceColumn(
                name=f.name,
                original_type=str(f.type),
                xdm_type="string",
                arrow_type=f.type,
                primary_key_position=(
                    self.key_names.index(f.name) + 1 if f.name in self.key_names else None
                ),
            )
            for f in self.table.schema
        ]
        return TableSchema(TABLE, columns)

    def preview(self, table: str, *, count: int = 100) -> tuple[TableSchema, list[dict[str, Any]]]:
        raise NotImplementedError

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
    ) -> Iterator[pa.RecordBatch]:
        assert table == TABLE and window is None
        self.ranges.append(key_range)
        data = self.table
        if key_range is not None:
            key = data[key_range.column]
            mask = pc.greater_equal(
                key, key_range.start if key_range.start is not None else -(2**31)
            )
            if key_range.end is not None:
                mask = pc.and_(mask, pc.less(key, key_range.end))
            data = data.filter(mask)
        if columns is not None:
            data = data.select(columns)
        for index, batch in enumerate(data.to_batches(max_chunksize=batch_rows)):
            if index == 1 and self.failure is not None:
                raise self.failure
            yield batch


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset(LakeLocation.local(tmp_path / "orders"))


def target(connector: Connector, dataset: Dataset, **extra: Any) -> VerifyTarget:
    return VerifyTarget(
        flow_id="flow-1", table=TABLE, connector=connector, dataset=dataset, **extra
    )


def test_a_full_snapshot_copy_is_equal(dataset: Dataset) -> None:
    source = orders(range(1, 3001))
    dataset.write_batch(source, mode="overwrite")
    report = verify_copy(target(OrdersConnector(source), dataset))
    assert report.equal
    assert report.key_columns == ("OrderID",)
    assert report.columns == ("OrderID", "Customer", "Amount", "UpdatedAt")
    assert report.comparison.source_rows == report.comparison.dataset_rows == 3000
    assert report.seconds > 0


def test_changes_on_both_sides_are_reported_by_key(dataset: Dataset) -> None:
    source = orders(range(1, 3001))
    dataset.write_batch(source, mode="overwrite")
    table = DeltaTable(dataset.location.uri)
    table.update(predicate="OrderID = 17", updates={"Customer": "'someone else'"})
    table.delete("OrderID = 42")
    changed_source = orders([i for i in range(1, 3003) if i != 99])
    connector = OrdersConnector(changed_source)
    report = verify_copy(target(connector, dataset), tuning=Tuning(bucket_rows=64, list_rows=64))
    found = report.comparison
    assert not report.equal
    assert found.missing.samples == [{"OrderID": 42}, {"OrderID": 3001}, {"OrderID": 3002}]
    assert found.extra.samples == [{"OrderID": 99}]
    assert found.different.samples == [{"OrderID": 17}]
    assert (found.source_rows, found.dataset_rows) == (3001, 2999)
    # after the first whole read, only the differing keys' ranges were read again
    assert connector.ranges[0] is None
    assert connector.ranges[1:] and all(r is not None for r in connector.ranges[1:])


def test_merge_bookkeeping_columns_are_ignored_and_soft_deleted_rows_are_absent(
    dataset: Dataset,
) -> None:
    source = orders(range(1, 11))
    dataset.write_batch(source, mode="overwrite")
    dataset.merge_batch(
        orders([3, 4]).append_column("_change_request_type", pa.array(["d", "d"])),
        keys=["OrderID"],
        delete_mode="soft",
    )
    assert "_deleted_at" in dataset.arrow_schema().names  # type: ignore[union-attr]
    report = verify_copy(
        target(OrdersConnector(source), dataset, write_mode="merge", delta_column="UpdatedAt")
    )
    assert "_deleted_at" not in report.columns
    assert [s["OrderID"] for s in report.comparison.missing.samples] == [3, 4]
    assert report.comparison.dataset_rows == 8
    # the source deleting them too makes the copy equal again
    again = verify_copy(
        target(OrdersConnector(orders([1, 2, *range(5, 11)])), dataset, write_mode="merge")
    )
    assert again.equal


def test_an_append_mode_incremental_flow_is_refused(dataset: Dataset) -> None:
    incremental = target(OrdersConnector(orders(range(3))), dataset, delta_column="UpdatedAt")
    with pytest.raises(NotVerifiable) as refused:
        verify_copy(incremental)
    assert refused.value.status == 400
    assert "append mode" in refused.value.message
    assert "not a mirror" in refused.value.message
    check_mirror(target(OrdersConnector(orders(range(3))), dataset))  # full snapshot: fine
    check_mirror(
        target(OrdersConnector(orders(range(3))), dataset, delta_column="x", write_mode="merge")
    )


def test_a_table_without_a_key_is_refused_unless_key_columns_are_given(dataset: Dataset) -> None:
    source = orders(range(1, 6))
    dataset.write_batch(source, mode="overwrite")
    keyless = OrdersConnector(source, primary_key=())
    with pytest.raises(NotVerifiable, match="no primary key"):
        verify_copy(target(keyless, dataset))
    report = verify_copy(target(keyless, dataset, key_columns=("Customer",)))
    assert report.equal and report.key_columns == ("Customer",)
    with pytest.raises(NotVerifiable, match="'Nope' is not a column"):
        verify_copy(target(keyless, dataset, key_columns=("Nope",)))


def test_columns_only_the_dataset_has_are_ignored(dataset: Dataset) -> None:
    source = orders(range(1, 6))
    dataset.write_batch(source.append_column("LakeNote", pa.array(["x"] * 5)), mode="overwrite")
    report = verify_copy(target(OrdersConnector(source), dataset))
    assert report.equal and "LakeNote" not in report.columns


def test_before_the_first_run_every_source_row_is_missing(dataset: Dataset) -> None:
    report = verify_copy(target(OrdersConnector(orders(range(1, 101))), dataset), samples=2)
    assert report.comparison.missing.count == 100
    assert report.comparison.missing.samples == [{"OrderID": 1}, {"OrderID": 2}]
    empty = verify_copy(target(OrdersConnector(orders([])), dataset))
    assert empty.equal and empty.comparison.source_rows == 0


def test_a_mapped_copy_is_compared_after_the_mapping(dataset: Dataset) -> None:
    rules = [
        {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
        {"sourceAttribute": "Customer", "destinationXdmPath": "customer"},
    ]
    source = orders(range(1, 21))
    mapped = pa.table({"orderId": source["OrderID"], "customer": source["Customer"]})
    dataset.write_batch(mapped, mode="overwrite")
    mapper = CompileOnFirstBatch(rules, fields=dataset.fields())
    with pytest.raises(NotVerifiable, match="keyColumns"):
        verify_copy(target(OrdersConnector(source), dataset, mapper=mapper))
    keyed = target(OrdersConnector(source), dataset, mapper=mapper, key_columns=("orderId",))
    assert verify_copy(keyed).equal
    DeltaTable(dataset.location.uri).delete("orderId = 5")
    report = verify_copy(keyed)
    assert report.comparison.missing.samples == [{"orderId": 5}]
    assert report.columns == ("orderId", "customer")


def test_samples_are_bounded(dataset: Dataset) -> None:
    with pytest.raises(InvalidRequest, match="samples must be between"):
        verify_copy(target(OrdersConnector(orders([1])), dataset), samples=1001)


def test_the_report_json_shows_keys_of_any_type_as_json(dataset: Dataset) -> None:
    source = orders(range(1, 4))
    dataset.write_batch(source.slice(0, 2), mode="overwrite")
    keyed = target(OrdersConnector(source), dataset, key_columns=("UpdatedAt", "Amount"))
    body = report_json(verify_copy(keyed), data_set_id="ds-1")
    assert json.loads(json.dumps(body)) == body
    assert body["missing"] == {
        "count": 1,
        "samples": [{"UpdatedAt": "2024-03-01T12:03:00+00:00", "Amount": 4.5}],
    }
    assert body["dataSetId"] == "ds-1" and body["equal"] is False
    assert body["keyColumns"] == ["UpdatedAt", "Amount"]
    assert (body["sourceRowCount"], body["datasetRowCount"]) == (3, 2)


def test_a_source_failing_mid_read_fails_the_verify_with_its_own_error(dataset: Dataset) -> None:
    source = orders(range(1, 200_001))
    dataset.write_batch(source.slice(0, 10), mode="overwrite")
    connector = OrdersConnector(source)
    connector.failure = TransientSourceError("the connection was reset")
    with pytest.raises(TransientSourceError, match="the connection was reset"):
        verify_copy(target(connector, dataset))
