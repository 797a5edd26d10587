"""Merge writes on an S3-compatible object store: moto's server on loopback."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from flowservice.errors import SchemaMismatch
from flowservice.lake import (
    CHANGE_TYPE_COLUMN,
    DELETED_AT_COLUMN,
    Dataset,
    LakeLocation,
    MergeCounts,
    rows_by_key,
)

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def _changes(ids: list[int], names: list[str | None], types: list[str]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array(names, pa.string()),
            CHANGE_TYPE_COLUMN: pa.array(types, pa.string()),
        }
    )


def test_merges_on_s3_create_upsert_delete_and_replay(location: LakeLocation) -> None:
    dataset = Dataset(location)
    created = dataset.merge_batch(
        _changes([1, 2, 3, 3], ["a", "b", "c", "C"], ["u", "u", "u", "u"]),
        keys=["id"],
        commit_metadata={"runId": "r1"},
    )
    assert (created.version, created.changes) == (0, MergeCounts(inserted=3))
    batch = _changes([2, 3, 4, 9], ["B", None, "d", None], ["u", "d", "u", "d"])
    merged = dataset.merge_batch(batch, keys=["id"], commit_metadata={"runId": "r2"})
    assert merged.version == 1
    assert merged.changes == MergeCounts(inserted=1, updated=1, deleted=1)
    assert rows_by_key(dataset, ["id"]).to_pylist() == [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "B"},
        {"id": 4, "name": "d"},
    ]
    found = dataset.find_commit(runId="r2")
    assert found is not None and (found.version, found.mode, found.record_count) == (1, "merge", 4)
    assert found.size_bytes == merged.size_bytes > 0
    replay = dataset.merge_batch(batch, keys=["id"], commit_metadata={"runId": "r2-replay"})
    assert (replay.version, replay.changes) == (2, MergeCounts())
    assert len(rows_by_key(dataset, ["id"])) == 3


def test_soft_deletes_and_a_refused_merge_on_s3(location: LakeLocation) -> None:
    dataset = Dataset(location)
    dataset.merge_batch(_changes([1, 2], ["a", "b"], ["u", "u"]), keys=["id"], delete_mode="soft")
    dataset.merge_batch(
        _changes([2], [None], ["d"]), keys=["id"], delete_mode="soft", deleted_at=T0
    )
    with pytest.raises(SchemaMismatch, match="null in 1 rows"):
        dataset.merge_batch(
            pa.table({"id": pa.array([None], pa.int64()), "name": ["x"]}),
            keys=["id"],
            delete_mode="soft",
        )
    assert dataset.version() == 1
    assert rows_by_key(dataset, ["id"]).to_pylist() == [
        {"id": 1, "name": "a", DELETED_AT_COLUMN: None},
        {"id": 2, "name": "b", DELETED_AT_COLUMN: T0},
    ]
