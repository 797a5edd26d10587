"""A dataset's batches: its Delta commits that wrote data, read from the commit files."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowservice.errors import LakeError
from flowservice.lake.location import LakeLocation

# Commit metadata written by callers is namespaced so it can never collide with
# the keys delta-rs writes itself (version, operation, ...).
METADATA_PREFIX = "flowservice."
WRITE_ID_KEY = "writeId"
# The write's mode (append, overwrite, merge): a merge's commit is MERGE, or WRITE when a
# merge creates the table or changes nothing, and the lake's own writes commit a first batch
# as CREATE TABLE, so the mode is kept explicitly. Merges also keep the input's row count.
WRITE_MODE_KEY = "writeMode"
RECORD_COUNT_KEY = "recordCount"
# Written by merges the lake rewrites itself (merge_rewrite.py): a WRITE commit whose
# operation metrics know nothing of the merge, so its counts are kept as JSON.
MERGED_KEY = "merged"
RESERVED_KEYS = frozenset({WRITE_ID_KEY, WRITE_MODE_KEY, RECORD_COUNT_KEY, MERGED_KEY})
MERGE_MODE = "merge"
_DATA_OPERATIONS = {"WRITE", "CREATE OR REPLACE TABLE", "MERGE"}
# a table created with its first batch (parquet_files.py); an empty create has no write id
_CREATE_OPERATION = "CREATE TABLE"


@dataclass(frozen=True)
class MergeCounts:
    """Target rows a merge changed (a soft delete counts as an update)."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class BatchInfo:
    """One batch = one Delta commit that added or replaced rows."""

    version: int
    timestamp_ms: int
    mode: str
    record_count: int
    size_bytes: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    write_id: str | None = None
    changes: MergeCounts | None = None


def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Prefix caller keys; values must already be strings (Delta stores strings)."""
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("commit metadata keys and values must be strings")
        if key in RESERVED_KEYS:
            raise ValueError(f"commit metadata key {key!r} is reserved for the lake")
        out[METADATA_PREFIX + key] = value
    return out


def read_batch(location: LakeLocation, version: int) -> BatchInfo | None:
    """The batch committed as ``version``; None if that commit wrote no data or is gone."""
    raw = location.read_bytes(f"_delta_log/{version:020d}.json")
    return None if raw is None else _parse_commit(raw, version)


def _parse_commit(raw: bytes, version: int) -> BatchInfo | None:
    info: dict[str, Any] = {}
    size = 0
    records = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        if "commitInfo" in action:
            info = action["commitInfo"]
        elif "add" in action:
            size += int(action["add"].get("size", 0))
            records += _records(action["add"])
    operation = info.get("operation")
    created_with_data = operation == _CREATE_OPERATION and METADATA_PREFIX + WRITE_ID_KEY in info
    if operation not in _DATA_OPERATIONS and not created_with_data:
        return None
    # History reports versions by counting back from a snapshot, which races with
    # concurrent writers; the commit file's own number is exact.
    metadata = {
        k[len(METADATA_PREFIX) :]: str(v) for k, v in info.items() if k.startswith(METADATA_PREFIX)
    }
    write_id = metadata.pop(WRITE_ID_KEY, None)
    declared_mode = metadata.pop(WRITE_MODE_KEY, None)
    declared_count = metadata.pop(RECORD_COUNT_KEY, None)
    merged = metadata.pop(MERGED_KEY, None)
    metrics = info.get("operationMetrics") or {}
    is_merge = info["operation"] == "MERGE" or declared_mode == MERGE_MODE
    if is_merge:
        mode = MERGE_MODE
        changes = _merge_counts(info["operation"], metrics, merged)
    else:
        declared = declared_mode or (info.get("operationParameters") or {}).get("mode", "Append")
        mode = str(declared).lower()
        changes = None
    if declared_count is not None:
        record_count = int(declared_count)
    else:
        record_count = int(metrics.get("num_added_rows", metrics.get("num_source_rows", records)))
    return BatchInfo(
        version=version,
        timestamp_ms=int(info.get("timestamp", 0)),
        mode=mode,
        record_count=record_count,
        size_bytes=size,
        metadata=metadata,
        write_id=write_id,
        changes=changes,
    )


def _merge_counts(operation: str, metrics: Mapping[str, Any], merged: str | None) -> MergeCounts:
    if merged is not None:
        counts = json.loads(merged)
        return MergeCounts(
            inserted=int(counts["inserted"]),
            updated=int(counts["updated"]),
            deleted=int(counts["deleted"]),
        )
    if operation == "MERGE":
        return MergeCounts(
            inserted=int(metrics.get("num_target_rows_inserted", 0)),
            updated=int(metrics.get("num_target_rows_updated", 0)),
            deleted=int(metrics.get("num_target_rows_deleted", 0)),
        )
    # a merge that created the table (inserts only) or changed nothing (an empty commit)
    return MergeCounts(inserted=int(metrics.get("num_added_rows", 0)))


def _records(add: Mapping[str, Any]) -> int:
    stats = add.get("stats")
    if not isinstance(stats, str):
        return 0
    try:
        return int(json.loads(stats).get("numRecords", 0))
    except (ValueError, AttributeError):
        return 0


def iter_batches(location: LakeLocation, latest: int) -> Iterator[BatchInfo]:
    """Batches from ``latest`` back to the oldest commit file still kept, newest first."""
    for version in range(latest, -1, -1):
        try:
            raw = location.read_bytes(f"_delta_log/{version:020d}.json")
            if raw is None:
                return  # older commit files were cleaned up after a checkpoint
            batch = _parse_commit(raw, version)
        except (OSError, ValueError) as exc:
            raise LakeError(f"could not read commit {version} of the dataset: {exc}") from exc
        if batch is not None:
            yield batch
