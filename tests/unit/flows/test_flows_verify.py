"""The verification core: key-bucket checksums narrowed down to the keys that differ.

Both sides are generated Arrow tables; the property tests edit a copy of a random
source table (rows deleted, rows added, values changed) and check that the
comparison reports exactly those keys, whatever the grid and pass sizes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import write_deltalake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.connectors.base import KeyRange
from flowservice.flows.verify_compare import Comparison, Tuning, compare_sides, first_shift
from flowservice.flows.verify_sides import (
    INT64_MAX,
    INT64_MIN,
    MAX_RANGE_READS,
    DatasetRows,
    SourceRows,
    key_ranges,
)
from flowservice.lake import Dataset, LakeLocation
from flowservice.lake.key_checksums import BUCKET, MAX_SHIFT, Buckets, ChecksumSession, ChecksumSpec

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("amount", pa.decimal128(12, 2)),
        ("seen", pa.timestamp("us", tz="UTC")),
    ]
)
COLUMNS = tuple(SCHEMA.names)
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
# one DuckDB database for every comparison here: opening one costs tens of ms
SESSION = ChecksumSession()


class TableSide:
    """A side over an Arrow table; it hands out every row, whatever ``within`` asks for."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.reads = 0

    def rows(self, within: Sequence[Buckets] | None) -> pa.RecordBatchReader:
        self.reads += 1
        return self.table.to_reader(max_chunksize=7)


class RangeConnector:
    """A connector's ``read`` over an Arrow table, honouring key ranges like SQL Server's."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.ranges: list[KeyRange | None] = []

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
    ) -> Iterator[pa.RecordBatch]:
        self.ranges.append(key_range)
        data = self.table
        if key_range is not None:
            key = data[key_range.column]
            if key_range.start is not None:
                data = data.filter(pc.greater_equal(key, key_range.start))
                key = data[key_range.column]
            if key_range.end is not None:
                data = data.filter(pc.less(key, key_range.end))
        if columns is not None:
            data = data.select(columns)
        yield from data.to_batches(max_chunksize=batch_rows)


def source_table(ids: Sequence[int], salt: str = "") -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": [None if i % 5 == 0 else f"name {i}{salt}" for i in ids],
            "amount": pa.array([decimal.Decimal(i % 1000) / 4 for i in ids], pa.decimal128(12, 2)),
            "seen": pa.array([T0 + dt.timedelta(seconds=i % 86400) for i in ids], SCHEMA[3].type),
        },
        schema=SCHEMA,
    )


def edited_copy(
    source: pa.Table, *, deleted: set[int], changed: set[int], added: Sequence[int]
) -> pa.Table:
    """The source minus ``deleted``, with ``changed`` rows' names altered, plus ``added`` rows."""
    rows = []
    for row in source.to_pylist():
        if row["id"] in deleted:
            continue
        if row["id"] in changed:
            row = {**row, "name": (row["name"] or "") + " changed"}
        rows.append(row)
    kept = pa.Table.from_pylist(rows, schema=SCHEMA)
    return pa.concat_tables([kept, source_table(added)])


def compare(
    source: Any,
    dataset: Any,
    spec: ChecksumSpec,
    *,
    shift: int,
    samples: int = 1000,
    tuning: Tuning | None = None,
) -> Comparison:
    return compare_sides(
        SESSION, source, dataset, spec, shift=shift, samples=samples, tuning=tuning
    )


def keys_of(samples: list[dict[str, Any]], column: str = "id") -> set[Any]:
    return {s[column] for s in samples}


INTEGER_SPEC = ChecksumSpec(keys=("id",), columns=COLUMNS, integer_ordinal=True)
HASHED_SPEC = ChecksumSpec(keys=("id",), columns=COLUMNS, integer_ordinal=False)

tunings = st.builds(
    Tuning,
    bucket_rows=st.integers(1, 64),
    list_rows=st.integers(1, 64),
    pass_rows=st.integers(4, 256),
)


@st.composite
def edited_tables(
    draw: st.DrawFn, spans: Sequence[int] = (300, 10**6, 2**62), min_rows: int = 0
) -> tuple[pa.Table, pa.Table, set[int], set[int], set[int]]:
    span = draw(st.sampled_from(spans))
    ids = sorted(draw(st.sets(st.integers(-span, span), min_size=min_rows, max_size=200)))
    deleted = draw(st.sets(st.sampled_from(ids), max_size=20)) if ids else set()
    kept = [i for i in ids if i not in deleted]
    changed = draw(st.sets(st.sampled_from(kept), max_size=20)) if kept else set()
    added = draw(st.sets(st.integers(-span, span).filter(lambda i: i not in ids), max_size=20))
    source = source_table(ids)
    return (
        source,
        edited_copy(source, deleted=deleted, changed=changed, added=sorted(added)),
        (deleted),
        changed,
        added,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_tables(), tunings, st.integers(0, MAX_SHIFT - 1), st.booleans())
def test_reports_exactly_the_edited_keys(
    tables: tuple[pa.Table, pa.Table, set[int], set[int], set[int]],
    tuning: Tuning,
    shift: int,
    hashed: bool,
) -> None:
    source, dataset, deleted, changed, added = tables
    spec = HASHED_SPEC if hashed else INTEGER_SPEC
    found = compare(TableSide(source), TableSide(dataset), spec, shift=shift, tuning=tuning)
    assert keys_of(found.missing.samples) == deleted
    assert keys_of(found.extra.samples) == added
    assert keys_of(found.different.samples) == changed
    assert (found.missing.count, found.extra.count, found.different.count) == (
        len(deleted),
        len(added),
        len(changed),
    )
    assert found.equal == (not deleted and not added and not changed)
    assert (found.source_rows, found.dataset_rows) == (source.num_rows, dataset.num_rows)


@settings(max_examples=60, deadline=None)
@given(edited_tables(), st.integers(0, 5))
def test_samples_are_the_first_keys_and_counts_stay_exact(
    tables: tuple[pa.Table, pa.Table, set[int], set[int], set[int]], samples: int
) -> None:
    source, dataset, deleted, changed, added = tables
    tuning = Tuning(bucket_rows=2, list_rows=3, pass_rows=5)
    found = compare(
        TableSide(source),
        TableSide(dataset),
        INTEGER_SPEC,
        shift=20,
        samples=samples,
        tuning=tuning,
    )
    for tally, expected in (
        (found.missing, deleted),
        (found.extra, added),
        (found.different, changed),
    ):
        assert tally.count == len(expected)
        # the integer key is the ordinal: samples are the lowest keys, in order
        assert [s["id"] for s in tally.samples] == sorted(expected)[:samples]


@settings(max_examples=60, deadline=None)
@given(edited_tables(spans=(150, 300, 10**6), min_rows=20), tunings, st.integers(0, 20))
def test_key_range_reads_of_the_source_miss_no_row(
    tables: tuple[pa.Table, pa.Table, set[int], set[int], set[int]], tuning: Tuning, shift: int
) -> None:
    # dense keys and fine grids: range ends fall on real keys
    source, dataset, deleted, changed, added = tables
    connector = RangeConnector(source)
    side = SourceRows(connector, "t", SCHEMA, range_key="id", batch_rows=5)
    found = compare(side, TableSide(dataset), INTEGER_SPEC, shift=shift, tuning=tuning)
    assert keys_of(found.missing.samples) == deleted
    assert keys_of(found.extra.samples) == added
    assert keys_of(found.different.samples) == changed
    assert connector.ranges[0] is None  # level 0 reads the whole table


@settings(max_examples=30, deadline=None)
@given(edited_tables(spans=(150, 300), min_rows=20), tunings, st.integers(0, 12))
def test_key_range_filters_of_the_dataset_miss_no_row(
    tables: tuple[pa.Table, pa.Table, set[int], set[int], set[int]], tuning: Tuning, shift: int
) -> None:
    source, dataset, deleted, changed, added = tables
    with tempfile.TemporaryDirectory() as folder:
        write_deltalake(folder, dataset)
        side = DatasetRows(Dataset(LakeLocation.local(folder)), SCHEMA, range_key="id")
        found = compare(TableSide(source), side, INTEGER_SPEC, shift=shift, tuning=tuning)
    assert keys_of(found.missing.samples) == deleted
    assert keys_of(found.extra.samples) == added
    assert keys_of(found.different.samples) == changed


def test_composite_keys_are_compared_through_their_hash() -> None:
    base = pa.table(
        {
            "region": ["north", "north", "south", "south", "west"],
            "no": pa.array([1, 2, 1, 2, 1], pa.int32()),
            "qty": pa.array([10, 20, 30, 40, 50], pa.int32()),
        }
    )
    copy = pa.table(
        {
            "region": ["north", "north", "south", "east"],
            "no": pa.array([1, 2, 2, 9], pa.int32()),
            "qty": pa.array([10, 21, 40, 1], pa.int32()),
        }
    )
    spec = ChecksumSpec(
        keys=("region", "no"), columns=("region", "no", "qty"), integer_ordinal=False
    )
    found = compare(TableSide(base), TableSide(copy), spec, shift=MAX_SHIFT)
    assert found.missing.count == 2
    assert {tuple(s.values()) for s in found.missing.samples} == {("south", 1), ("west", 1)}
    assert found.extra.samples == [{"region": "east", "no": 9}]
    assert found.different.samples == [{"region": "north", "no": 2}]


def test_equal_tables_take_one_pass_and_no_listing() -> None:
    table = source_table(range(5000))
    source, dataset = TableSide(table), TableSide(table.take(list(reversed(range(5000)))))
    found = compare(
        source,
        dataset,
        INTEGER_SPEC,
        shift=first_shift(INTEGER_SPEC, rows=5000, low=0, high=4999, tuning=Tuning()),
    )
    assert found.equal and found.levels == 1 and found.passes == 1
    assert (source.reads, dataset.reads) == (1, 1)
    assert found.source_rows == found.dataset_rows == 5000


def test_a_duplicated_key_in_the_dataset_is_different() -> None:
    table = source_table([1, 2, 3])
    doubled = pa.concat_tables([table, table.slice(1, 1)])
    found = compare(TableSide(table), TableSide(doubled), INTEGER_SPEC, shift=0)
    assert (found.missing.count, found.extra.count) == (0, 0)
    assert found.different.samples == [{"id": 2}]


def test_an_empty_dataset_misses_every_row_without_narrowing() -> None:
    table = source_table(range(10_000))
    found = compare(
        TableSide(table),
        TableSide(table.slice(0, 0)),
        INTEGER_SPEC,
        shift=MAX_SHIFT - 1,
        samples=3,
        tuning=Tuning(list_rows=10),
    )
    assert found.missing.count == 10_000
    assert found.missing.samples == [{"id": 0}, {"id": 1}, {"id": 2}]
    assert found.levels == 1


def test_first_shift_aims_at_bucket_rows() -> None:
    tuning = Tuning(bucket_rows=1024)
    # a million dense keys: buckets of 1024 keys
    assert first_shift(INTEGER_SPEC, rows=10**6, low=1, high=10**6, tuning=tuning) == 10
    # hashed ordinals: 1024 buckets over 64 bits
    assert first_shift(HASHED_SPEC, rows=10**6, low=None, high=None, tuning=tuning) == 54
    assert first_shift(INTEGER_SPEC, rows=0, low=None, high=None, tuning=tuning) == MAX_SHIFT - 1
    assert first_shift(INTEGER_SPEC, rows=5, low=3, high=3, tuning=tuning) == 7


def buckets(shift: int, *ids: int) -> Buckets:
    return Buckets(shift, pa.table({BUCKET: pa.array(ids, pa.int64())}))


def test_key_ranges_merge_touching_buckets_and_clip_to_bigint() -> None:
    # [0, 16) + [16, 32) at shift 4 touch [32, 36) at shift 2; [48, 64) stands alone
    assert key_ranges([buckets(4, 0, 1, 3), buckets(2, 8)], "id") == [
        KeyRange("id", 0, 36),
        KeyRange("id", 48, 64),
    ]
    edges = key_ranges([buckets(MAX_SHIFT - 1, -2, 1)], "id")
    # [-2**63, -2**62) and [2**62, 2**63): open where they reach BIGINT's ends
    assert edges == [KeyRange("id", None, -(2**62)), KeyRange("id", 2**62, None)]
    assert key_ranges([buckets(0, INT64_MIN, INT64_MAX - 1)], "id") == [
        KeyRange("id", None, INT64_MIN + 1),
        KeyRange("id", INT64_MAX - 1, INT64_MAX),
    ]


def test_key_ranges_give_up_beyond_the_read_limit() -> None:
    many = buckets(3, *range(0, 4 * (MAX_RANGE_READS + 1), 4))
    assert key_ranges([many], "id") is None
    assert key_ranges([buckets(3, *range(0, 4 * MAX_RANGE_READS, 4))], "id") is not None


def test_dataset_rows_leave_soft_deleted_rows_and_bookkeeping_out(tmp_path: Path) -> None:
    table = source_table(range(10))
    deleted_at = pa.array(
        [T0 if i in (3, 4) else None for i in range(10)], pa.timestamp("us", tz="UTC")
    )
    stored = table.append_column("_deleted_at", deleted_at).append_column(
        "_change_request_type", pa.array(["u"] * 10)
    )
    write_deltalake(str(tmp_path / "ds"), stored)
    dataset = Dataset(LakeLocation.local(tmp_path / "ds"))
    side = DatasetRows(dataset, SCHEMA, range_key="id")
    found = compare(TableSide(table), side, INTEGER_SPEC, shift=1)
    assert keys_of(found.missing.samples) == {3, 4}
    assert found.dataset_rows == 8
    assert (found.extra.count, found.different.count) == (0, 0)
    assert SESSION.dataset_key_summary(dataset, INTEGER_SPEC) == (8, 0, 9)
