from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from flowservice.errors import SchemaMismatch
from flowservice.lake.conform import conform_batch, is_safe_cast, plan_write

UTC_US = pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (pa.int8(), pa.int64()),
        (pa.int32(), pa.float64()),
        (pa.uint32(), pa.int64()),
        (pa.int64(), pa.decimal128(19, 0)),
        (pa.decimal128(10, 2), pa.decimal128(12, 4)),
        (pa.large_string(), pa.string()),
        (pa.timestamp("ms"), UTC_US),
        (pa.date64(), pa.date32()),
        (pa.null(), pa.int32()),
        (pa.dictionary(pa.int8(), pa.string()), pa.string()),
    ],
)
def test_widening_casts_are_safe(src: pa.DataType, dst: pa.DataType) -> None:
    assert is_safe_cast(src, dst)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (pa.int64(), pa.int32()),
        (pa.int64(), pa.float64()),
        (pa.uint64(), pa.int64()),
        (pa.float64(), pa.int64()),
        (pa.decimal128(12, 4), pa.decimal128(10, 2)),
        (pa.decimal128(10, 2), pa.float64()),
        (pa.string(), pa.int32()),
        (pa.timestamp("us"), pa.date32()),
        (pa.int32(), pa.string()),
    ],
)
def test_lossy_casts_are_not_safe(src: pa.DataType, dst: pa.DataType) -> None:
    assert not is_safe_cast(src, dst)


def test_first_batch_sets_a_canonical_nullable_schema() -> None:
    incoming = pa.schema(
        [
            pa.field("id", pa.int32(), nullable=False),
            ("ts", pa.timestamp("ns")),
            ("s", pa.large_string()),
        ]
    )
    plan = plan_write(None, incoming, "freeze")
    assert plan.target == pa.schema([("id", pa.int32()), ("ts", UTC_US), ("s", pa.string())])


def test_evolve_adds_new_columns_at_the_end() -> None:
    table = pa.schema([("id", pa.int64())])
    plan = plan_write(table, pa.schema([("new", pa.int16()), ("id", pa.int32())]), "evolve")
    assert plan.added == ("new",)
    assert plan.target.names == ["id", "new"]


def test_freeze_names_every_new_column() -> None:
    table = pa.schema([("id", pa.int64())])
    with pytest.raises(SchemaMismatch, match=r"freeze policy: 'a', 'b'") as err:
        plan_write(
            table, pa.schema([("id", pa.int64()), ("a", pa.int8()), ("b", pa.string())]), "freeze"
        )
    assert err.value.status == 400


def test_lossy_type_change_fails_even_under_evolve() -> None:
    table = pa.schema([("amount", pa.decimal128(10, 2))])
    with pytest.raises(SchemaMismatch, match="'amount' is double"):
        plan_write(table, pa.schema([("amount", pa.float64())]), "evolve")


def test_missing_required_column_fails_and_missing_nullable_is_filled() -> None:
    table = pa.schema([pa.field("id", pa.int64(), nullable=False), ("note", pa.string())])
    with pytest.raises(SchemaMismatch, match=r"required columns missing.*'id'"):
        plan_write(table, pa.schema([("note", pa.string())]), "evolve")
    plan = plan_write(table, pa.schema([("id", pa.int32())]), "freeze")
    batch = pa.record_batch([pa.array([1, 2], pa.int32())], names=["id"])
    out = conform_batch(batch, plan.target)
    assert out.column("note").to_pylist() == [None, None]
    assert out.column("id").type == pa.int64()


def test_case_only_rename_is_refused() -> None:
    with pytest.raises(SchemaMismatch, match="differs only in case"):
        plan_write(pa.schema([("Id", pa.int64())]), pa.schema([("id", pa.int64())]), "evolve")


def test_naive_timestamps_are_taken_as_utc_and_nanoseconds_are_checked() -> None:
    target = pa.schema([("ts", UTC_US)])
    ok = pa.record_batch(
        [pa.array([dt.datetime(2024, 5, 1, 12, 30)], pa.timestamp("ns"))], names=["ts"]
    )
    assert conform_batch(ok, target).column("ts").to_pylist() == [
        dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    ]
    lossy = pa.record_batch([pa.array([1_000_000_001], pa.timestamp("ns"))], names=["ts"])
    with pytest.raises(SchemaMismatch, match="'ts'"):
        conform_batch(lossy, target)


def test_decimals_stay_exact() -> None:
    target = pa.schema([("m", pa.decimal128(19, 4))])
    batch = pa.record_batch(
        [pa.array([Decimal("922337203685477.5807")], pa.decimal128(19, 4))], names=["m"]
    )
    assert conform_batch(batch, target).column("m").to_pylist() == [Decimal("922337203685477.5807")]


def test_nulls_in_required_column_fail() -> None:
    target = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    batch = pa.record_batch([pa.array([1, None], pa.int64())], names=["id"])
    with pytest.raises(SchemaMismatch, match="1 rows are null"):
        conform_batch(batch, target)


def test_duplicate_incoming_columns_fail() -> None:
    with pytest.raises(SchemaMismatch, match="twice"):
        plan_write(None, pa.schema([("a", pa.int8()), ("A", pa.int8())]), "evolve")
