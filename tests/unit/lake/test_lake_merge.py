"""Merge writes on real local Delta tables: upserts, deletes, replays, schemas, errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from flowservice.errors import LakeError, SchemaMismatch
from flowservice.lake import (
    CHANGE_TYPE_COLUMN,
    DELETED_AT_COLUMN,
    Dataset,
    LakeLocation,
    MergeCounts,
    XdmField,
    count_rows,
    rows_by_key,
)

CUSTOMERS = (
    XdmField("id", "integer", nullable=False),
    XdmField("name", "string", nullable=False),
    XdmField("city", "string"),
)
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _rows(*rows: tuple[int, str | None, str | None, str]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int32()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "city": pa.array([r[2] for r in rows], pa.string()),
            CHANGE_TYPE_COLUMN: pa.array([r[3] for r in rows], pa.string()),
        }
    )


def _state(dataset: Dataset, keys: Sequence[str] = ("id",)) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = rows_by_key(dataset, keys).to_pylist()
    return rows


def _commit(dataset: Dataset, version: int) -> list[dict[str, Any]]:
    raw = dataset.location.read_bytes(f"_delta_log/{version:020d}.json")
    assert raw is not None
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


@pytest.fixture
def customers(tmp_path: Path) -> Dataset:
    return Dataset.create(LakeLocation.local(tmp_path / "customers"), fields=CUSTOMERS)


def test_upserts_and_deletes_land_in_one_commit(customers: Dataset) -> None:
    first = customers.merge_batch(
        _rows((1, "Ann", "Oslo", "u"), (2, "Bob", "Rome", "u"), (3, "Cy", None, "u")),
        keys=["id"],
        commit_metadata={"runId": "r1"},
    )
    assert (first.version, first.record_count) == (1, 3)
    assert first.changes == MergeCounts(inserted=3)
    second = customers.merge_batch(
        _rows((2, "Bob", "Paris", "u"), (3, None, None, "d"), (4, "Dee", "Nice", "u")),
        keys=["id"],
        commit_metadata={"runId": "r2"},
    )
    assert second.version == 2 and customers.version() == 2
    assert second.changes == MergeCounts(inserted=1, updated=1, deleted=1)
    assert _state(customers) == [
        {"id": 1, "name": "Ann", "city": "Oslo"},
        {"id": 2, "name": "Bob", "city": "Paris"},
        {"id": 4, "name": "Dee", "city": "Nice"},
    ]
    actions = _commit(customers, 2)
    commits = [a["commitInfo"] for a in actions if "commitInfo" in a]
    assert len(commits) == 1 and commits[0]["flowservice.writeMode"] == "merge"
    # the file holding ids 1-3 is replaced, the changed and new rows land in another
    assert sum("remove" in a for a in actions) == 1 and sum("add" in a for a in actions) == 2
    found = customers.find_commit(runId="r2")
    assert found is not None and found.version == 2
    assert (found.mode, found.record_count, found.changes) == ("merge", 3, second.changes)
    assert found.size_bytes == second.size_bytes > 0
    assert [b.version for b in customers.batches()] == [2, 1]


def test_the_last_row_of_a_key_wins_in_input_order(customers: Dataset) -> None:
    customers.merge_batch(_rows((1, "Ann", "Oslo", "u"), (2, "Bob", "Rome", "u")), keys=["id"])
    result = customers.merge_batch(
        _rows(
            (1, "Ann", "Bergen", "u"),
            (1, None, None, "d"),  # deleted, then ...
            (2, None, None, "d"),
            (1, "Ann", "Tromsø", "u"),  # ... back again: the last row wins
            (5, "Eve", "Lund", "u"),
            (5, "Eve", "Malmö", "u"),
            (6, "Fay", "Pisa", "u"),
            (6, None, None, "d"),
        ),
        keys=["id"],
    )
    assert result.record_count == 8
    assert result.changes == MergeCounts(inserted=1, updated=1, deleted=1)
    assert _state(customers) == [
        {"id": 1, "name": "Ann", "city": "Tromsø"},
        {"id": 5, "name": "Eve", "city": "Malmö"},
    ]


def test_rows_spread_over_many_batches_are_deduplicated_across_them(customers: Dataset) -> None:
    def stream() -> Iterator[pa.RecordBatch]:
        for round_ in range(5):
            yield from _rows(
                *[(i, f"n{round_}", None, "u") for i in range(20)], (99, None, None, "d")
            ).to_batches()

    reader = pa.RecordBatchReader.from_batches(_rows().schema, stream())
    result = customers.merge_batch(reader, keys=["id"])
    assert result.record_count == 105
    assert result.changes == MergeCounts(inserted=20)
    assert {r["name"] for r in _state(customers)} == {"n4"}
    assert count_rows(customers) == 20


def test_a_replay_changes_nothing_and_still_records_its_run(customers: Dataset) -> None:
    batch = _rows((1, "Ann", "Oslo", "u"), (2, "Bob", "Rome", "u"), (7, None, None, "d"))
    customers.merge_batch(batch, keys=["id"], commit_metadata={"runId": "r1"})
    before = _state(customers)
    replay = customers.merge_batch(batch, keys=["id"], commit_metadata={"runId": "r1-again"})
    assert replay.version == 2
    assert replay.changes == MergeCounts()
    assert replay.record_count == 3 and replay.size_bytes == 0
    assert _state(customers) == before
    # an empty commit: no data file added or removed
    assert not [a for a in _commit(customers, 2) if "add" in a or "remove" in a]
    found = customers.find_commit(runId="r1-again")
    assert found is not None and (found.version, found.mode) == (2, "merge")
    assert found.changes == MergeCounts()


def test_unchanged_rows_are_not_rewritten_by_an_overlapping_window(customers: Dataset) -> None:
    customers.merge_batch(_rows(*[(i, f"n{i}", None, "u") for i in range(10)]), keys=["id"])
    overlap = customers.merge_batch(
        _rows(*[(i, f"n{i}", None, "u") for i in range(5, 10)], (10, "new", None, "u")),
        keys=["id"],
    )
    assert overlap.changes == MergeCounts(inserted=1)
    assert count_rows(customers) == 11


def test_input_without_change_types_is_all_upserts(customers: Dataset) -> None:
    customers.merge_batch(_rows((1, "Ann", "Oslo", "u")), keys=["id"])
    plain = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["Anna", "Bo"]})
    result = customers.merge_batch(plain, keys=["id"])
    assert result.changes == MergeCounts(inserted=1, updated=1)
    # columns the input lacks are written as nulls, as appends do
    assert _state(customers) == [
        {"id": 1, "name": "Anna", "city": None},
        {"id": 2, "name": "Bo", "city": None},
    ]


def test_change_types_are_read_case_insensitively_from_dictionary_columns(
    customers: Dataset,
) -> None:
    customers.merge_batch(_rows((1, "Ann", None, "u"), (2, "Bob", None, "u")), keys=["id"])
    change = pa.array(["D", "U"]).dictionary_encode()
    batch = pa.table({"id": [1, 3], "name": ["x", "Cy"], CHANGE_TYPE_COLUMN: change})
    customers.merge_batch(batch, keys=["id"])
    assert [r["id"] for r in _state(customers)] == [2, 3]


def test_hard_deletes_of_absent_keys_do_nothing(customers: Dataset) -> None:
    customers.merge_batch(_rows((1, "Ann", None, "u")), keys=["id"])
    result = customers.merge_batch(_rows((8, None, None, "d"), (9, None, None, "d")), keys=["id"])
    assert result.changes == MergeCounts()
    assert [r["id"] for r in _state(customers)] == [1]


def test_deletes_need_only_their_keys_but_upserts_need_required_columns(
    customers: Dataset,
) -> None:
    customers.merge_batch(_rows((1, "Ann", None, "u"), (2, "Bob", None, "u")), keys=["id"])
    keys_only = pa.table(
        {"id": pa.array([1], pa.int64()), CHANGE_TYPE_COLUMN: pa.array(["d"], pa.string())}
    )
    customers.merge_batch(keys_only, keys=["id"])
    assert [r["id"] for r in _state(customers)] == [2]
    with pytest.raises(SchemaMismatch, match="'name' is required but 1 upserted rows are null"):
        customers.merge_batch(_rows((3, None, None, "u"), (2, None, None, "d")), keys=["id"])
    assert customers.version() == 2


def test_soft_deletes_keep_the_row_until_it_comes_back(customers: Dataset) -> None:
    customers.merge_batch(
        _rows((1, "Ann", "Oslo", "u"), (2, "Bob", "Rome", "u")),
        keys=["id"],
        delete_mode="soft",
        deleted_at=T0,
    )
    assert customers.fields() == (*CUSTOMERS, XdmField(DELETED_AT_COLUMN, "date-time"))
    deleted = customers.merge_batch(
        _rows((1, None, None, "d"), (3, None, None, "d")),
        keys=["id"],
        delete_mode="soft",
        deleted_at=T0,
    )
    assert deleted.changes == MergeCounts(updated=1)  # a soft delete is an update
    later = T0 + dt.timedelta(hours=1)
    again = customers.merge_batch(
        _rows((1, None, None, "d")), keys=["id"], delete_mode="soft", deleted_at=later
    )
    assert again.changes == MergeCounts()  # the first deletion time stays
    assert _state(customers) == [
        {"id": 1, "name": "Ann", "city": "Oslo", DELETED_AT_COLUMN: T0},
        {"id": 2, "name": "Bob", "city": "Rome", DELETED_AT_COLUMN: None},
    ]
    assert [r["id"] for r in rows_by_key(customers, ["id"], include_deleted=False).to_pylist()] == [
        2
    ]
    back = customers.merge_batch(
        _rows((1, "Ann", "Oslo", "u")), keys=["id"], delete_mode="soft", deleted_at=later
    )
    assert back.changes == MergeCounts(updated=1)
    assert _state(customers)[0] == {"id": 1, "name": "Ann", "city": "Oslo", DELETED_AT_COLUMN: None}


def test_soft_mode_refuses_an_input_deletion_column_and_a_frozen_schema(tmp_path: Path) -> None:
    location = LakeLocation.local(tmp_path / "d")
    Dataset.create(location, fields=CUSTOMERS)
    frozen = Dataset(location, policy="freeze")
    with pytest.raises(SchemaMismatch, match=DELETED_AT_COLUMN):
        frozen.merge_batch(_rows((1, "Ann", None, "u")), keys=["id"], delete_mode="soft")
    batch = _rows((1, "Ann", None, "u")).append_column(
        DELETED_AT_COLUMN, pa.array([T0], pa.timestamp("us", tz="UTC"))
    )
    with pytest.raises(SchemaMismatch, match="set by soft deletes"):
        Dataset(location).merge_batch(batch, keys=["id"], delete_mode="soft")
    assert frozen.version() == 0


def test_the_first_merge_creates_the_dataset_from_its_upserts(tmp_path: Path) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "new"))
    result = dataset.merge_batch(
        _rows((1, "Ann", None, "u"), (2, "Bob", None, "d"), (1, "Anna", None, "u")),
        keys=["id"],
        commit_metadata={"runId": "r0"},
    )
    assert (result.version, result.record_count) == (0, 3)
    assert result.changes == MergeCounts(inserted=1)
    assert dataset.fields() == (
        XdmField("id", "int"),
        XdmField("name", "string"),
        XdmField("city", "string"),
    )
    assert _state(dataset) == [{"id": 1, "name": "Anna", "city": None}]
    found = dataset.find_commit(runId="r0")
    assert found is not None and (found.version, found.mode, found.record_count) == (0, "merge", 3)
    assert found.changes == result.changes


def test_an_empty_input_commits_an_empty_merge(customers: Dataset, tmp_path: Path) -> None:
    result = customers.merge_batch(iter(()), keys=["id"], commit_metadata={"runId": "empty"})
    assert (result.version, result.record_count, result.changes) == (1, 0, MergeCounts())
    assert customers.find_commit(runId="empty") is not None
    with pytest.raises(LakeError, match="empty"):
        Dataset(LakeLocation.local(tmp_path / "none")).merge_batch(iter(()), keys=["id"])


def test_the_change_type_is_stored_only_when_the_dataset_declares_it(tmp_path: Path) -> None:
    plain = Dataset(LakeLocation.local(tmp_path / "plain"))
    plain.merge_batch(_rows((1, "Ann", None, "u")), keys=["id"])
    assert CHANGE_TYPE_COLUMN not in (plain.arrow_schema() or pa.schema([])).names
    fields = (*CUSTOMERS, XdmField(CHANGE_TYPE_COLUMN, "string"))
    declared = Dataset.create(LakeLocation.local(tmp_path / "declared"), fields=fields)
    declared.merge_batch(
        _rows((1, "Ann", None, "U"), (2, "Bob", None, "u")), keys=["id"], delete_mode="soft"
    )
    declared.merge_batch(
        _rows((1, None, None, "d")), keys=["id"], delete_mode="soft", deleted_at=T0
    )
    state = {r["id"]: (r[CHANGE_TYPE_COLUMN], r[DELETED_AT_COLUMN]) for r in _state(declared)}
    assert state == {1: ("d", T0), 2: ("u", None)}


def test_new_columns_follow_the_schema_policy_in_the_same_commit(customers: Dataset) -> None:
    customers.merge_batch(_rows((1, "Ann", None, "u"), (2, "Bob", None, "u")), keys=["id"])
    extra = _rows((1, "Ann", None, "u"), (3, "Cy", None, "u")).append_column(
        "tier", pa.array([None, 2], pa.int16())
    )
    frozen = Dataset(customers.location, policy="freeze")
    with pytest.raises(SchemaMismatch, match="'tier'"):
        frozen.merge_batch(extra, keys=["id"])
    result = customers.merge_batch(extra, keys=["id"])
    assert result.version == 2 and result.added_columns == ("tier",)
    assert result.changes == MergeCounts(inserted=1)  # row 1 is unchanged: its tier is null
    assert [r["tier"] for r in _state(customers)] == [None, None, 2]
    # a replay that would only add the (all-null) column still commits, with the column
    replay = Dataset(customers.location).merge_batch(
        _rows((2, "Bob", None, "u")).append_column("vip", pa.array([None], pa.bool_())),
        keys=["id"],
    )
    assert replay.changes == MergeCounts() and replay.added_columns == ("vip",)
    assert "vip" in (customers.arrow_schema() or pa.schema([])).names


def test_values_are_cast_safely_and_lossy_types_fail(customers: Dataset) -> None:
    wide = pa.table({"id": pa.array([1], pa.int64()), "name": pa.array([1.5])})
    with pytest.raises(SchemaMismatch, match="'name'"):
        customers.merge_batch(wide, keys=["id"])
    assert customers.version() == 0


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (_rows((1, "Ann", None, "u"), (2, "Bob", None, "x")), "must be 'u' or 'd'; 1 rows"),
        (
            pa.table({"id": [1], "name": ["a"], CHANGE_TYPE_COLUMN: pa.array([None], pa.string())}),
            "must be 'u' or 'd'",
        ),
        (pa.table({"id": [1], "name": ["a"], CHANGE_TYPE_COLUMN: [1]}), "must be text"),
        (pa.table({"id": pa.array([1, None], pa.int64()), "name": ["a", "b"]}), "null in 1 rows"),
        (pa.table({"name": ["a"]}), "key columns missing"),
    ],
)
def test_bad_inputs_fail_before_anything_is_written(
    customers: Dataset, batch: pa.Table, message: str
) -> None:
    with pytest.raises(SchemaMismatch, match=message):
        customers.merge_batch(batch, keys=["id"])
    assert customers.version() == 0


def test_keys_must_be_usable_columns(customers: Dataset, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not one string"):
        customers.merge_batch(_rows((1, "a", None, "u")), keys="id")
    with pytest.raises(ValueError, match="at least one"):
        customers.merge_batch(_rows((1, "a", None, "u")), keys=[])
    with pytest.raises(ValueError, match="repeat"):
        customers.merge_batch(_rows((1, "a", None, "u")), keys=["id", "id"])
    with pytest.raises(ValueError, match="delete_mode"):
        customers.merge_batch(_rows((1, "a", None, "u")), keys=["id"], delete_mode="purge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time zone"):
        customers.merge_batch(
            _rows((1, "a", None, "u")), keys=["id"], deleted_at=dt.datetime(2024, 1, 1)
        )
    with pytest.raises(SchemaMismatch, match="not columns of the dataset"):
        customers.merge_batch(
            _rows((1, "a", None, "u")).append_column("code", pa.array(["c"])),
            keys=["id", "code"],
        )
    floats = Dataset(LakeLocation.local(tmp_path / "f"))
    with pytest.raises(SchemaMismatch, match="key column 'x'"):
        floats.merge_batch(pa.table({"x": [0.5], "v": [1]}), keys=["x"])
    pulled: list[int] = []

    def watched() -> Iterator[pa.RecordBatch]:
        pulled.append(1)
        yield from _rows((1, "a", None, "u")).to_batches()

    with pytest.raises(ValueError, match="reserved"):
        customers.merge_batch(watched(), keys=["id"], commit_metadata={"recordCount": "9"})
    assert pulled == []  # refused before reading the input
    assert customers.version() == 0 and not floats.exists()


def test_composite_keys_of_many_types_and_odd_names(tmp_path: Path) -> None:
    day = dt.date(2024, 2, 29)
    at = dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=dt.UTC)

    def batch(rows: list[tuple[str, dt.date, Decimal, bytes, str, str]]) -> pa.Table:
        return pa.table(
            {
                "Région Name": pa.array([r[0] for r in rows]),
                "Day": pa.array([r[1] for r in rows], pa.date32()),
                "amount": pa.array([r[2] for r in rows], pa.decimal128(9, 2)),
                "tag": pa.array([r[3] for r in rows], pa.binary()),
                "when": pa.array([at] * len(rows), pa.timestamp("us", tz="UTC")),
                "value": pa.array([r[4] for r in rows]),
                CHANGE_TYPE_COLUMN: pa.array([r[5] for r in rows]),
            }
        )

    keys = ["Région Name", "Day", "amount", "tag", "when"]
    dataset = Dataset(LakeLocation.local(tmp_path / "k"))
    dataset.merge_batch(
        batch(
            [
                ("Île", day, Decimal("1.10"), b"\x00", "a", "u"),
                ("Île", day, Decimal("1.10"), b"\x01", "b", "u"),
                ("Île", day, Decimal("2.00"), b"\x00", "c", "u"),
            ]
        ),
        keys=keys,
    )
    result = dataset.merge_batch(
        batch(
            [
                ("Île", day, Decimal("1.10"), b"\x00", "A", "u"),
                ("Île", day, Decimal("1.10"), b"\x01", "", "d"),
                ("Île", day + dt.timedelta(days=1), Decimal("1.10"), b"\x00", "d", "u"),
            ]
        ),
        keys=keys,
    )
    assert result.changes == MergeCounts(inserted=1, updated=1, deleted=1)
    state = rows_by_key(dataset, keys).to_pylist()
    assert [(r["Day"], r["amount"], r["tag"], r["value"]) for r in state] == [
        (day, Decimal("1.10"), b"\x00", "A"),
        (day, Decimal("2.00"), b"\x00", "c"),
        (day + dt.timedelta(days=1), Decimal("1.10"), b"\x00", "d"),
    ]


def test_a_merge_replaces_only_the_files_holding_changed_rows(tmp_path: Path) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "files"))
    for start in range(0, 400, 100):  # four appends: four files with disjoint id ranges
        ids = pa.array(range(start, start + 100), pa.int64())
        dataset.write_batch(pa.table({"id": ids, "v": pa.array([0] * 100, pa.int64())}))
    changes = pa.table({"id": pa.array([310, 320, 400], pa.int64()), "v": [1, 1, 1]})
    result = dataset.merge_batch(changes, keys=["id"])
    assert result.changes == MergeCounts(inserted=1, updated=2)
    removed = [a for a in _commit(dataset, result.version) if "remove" in a]
    assert len(removed) == 1
    assert count_rows(dataset) == 401


def test_a_failed_merge_leaves_the_table_writable(customers: Dataset) -> None:
    customers.merge_batch(_rows((1, "Ann", None, "u")), keys=["id"])

    def broken() -> Iterator[pa.RecordBatch]:
        yield from _rows((2, "Bob", None, "u")).to_batches()
        raise ConnectionResetError("source went away")

    with pytest.raises(ConnectionResetError):
        customers.merge_batch(broken(), keys=["id"])
    assert customers.version() == 1
    assert customers.merge_batch(_rows((2, "Bob", None, "u")), keys=["id"]).version == 2
    assert count_rows(customers) == 2


def test_appends_reject_reserved_metadata_keys_too(customers: Dataset) -> None:
    with pytest.raises(ValueError, match="reserved"):
        customers.write_batch(
            _rows((1, "a", None, "u")).drop_columns([CHANGE_TYPE_COLUMN]),
            commit_metadata={"writeId": "mine"},
        )


def test_nested_values_and_nan_compare_by_value(tmp_path: Path) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "nested"))
    nan = float("nan")

    point = pa.struct([("x", pa.float64()), ("label", pa.string())])

    def batch(*rows: tuple[int, float, str, float]) -> pa.Table:
        return pa.table(
            {
                "id": pa.array([r[0] for r in rows], pa.int64()),
                "point": pa.array([{"x": r[1], "label": r[2]} for r in rows], point),
                "score": pa.array([r[3] for r in rows], pa.float64()),
            }
        )

    first = batch((1, 1.0, "a", nan), (2, 2.0, "b", 1.0))
    dataset.merge_batch(first, keys=["id"])
    replay = dataset.merge_batch(first, keys=["id"])
    assert replay.changes == MergeCounts()  # NaN equals NaN here, objects compare by value
    assert [a for a in _commit(dataset, replay.version) if "add" in a or "remove" in a] == []
    changed = dataset.merge_batch(batch((1, 1.0, "c", nan), (2, 3.0, "b", 1.0)), keys=["id"])
    assert changed.changes == MergeCounts(updated=2)
    assert [(r["id"], r["point"]) for r in _state(dataset)] == [
        (1, {"x": 1.0, "label": "c"}),
        (2, {"x": 3.0, "label": "b"}),
    ]


def test_rewritten_files_carry_exact_statistics(tmp_path: Path) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "stats"))
    ids = pa.array(range(1000), pa.int64())
    days = pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i % 50) for i in range(1000)])
    dataset.write_batch(pa.table({"id": ids, "day": days, "note": pa.array(["x"] * 1000)}))
    changes = pa.table(
        {
            "id": pa.array([5, 999, 1500], pa.int64()),
            "day": pa.array([dt.date(2030, 1, 1), None, dt.date(2023, 1, 1)], pa.date32()),
            "note": pa.array(["y", None, "z"]),
        }
    )
    result = dataset.merge_batch(changes, keys=["id"])
    assert result.changes == MergeCounts(inserted=1, updated=2)
    stats = [json.loads(a["add"]["stats"]) for a in _commit(dataset, result.version) if "add" in a]
    assert sum(s["numRecords"] for s in stats) == 1001
    assert min(s["minValues"]["id"] for s in stats) == 0
    assert max(s["maxValues"]["id"] for s in stats) == 1500
    assert min(s["minValues"]["day"] for s in stats) == "2023-01-01"
    assert max(s["maxValues"]["day"] for s in stats) == "2030-01-01"
    assert sum(s["nullCount"]["day"] for s in stats) == 1
    # readers that skip files by these statistics still find every row
    table = DeltaTable(dataset.location.uri)
    found = table.to_pyarrow_table(filters=[("day", ">=", dt.date(2030, 1, 1))])
    assert found.column("id").to_pylist() == [5]
    assert table.to_pyarrow_table(filters=[("id", "==", 1500)]).column("note").to_pylist() == ["z"]
