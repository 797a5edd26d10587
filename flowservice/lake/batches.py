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
_DATA_OPERATIONS = {"WRITE", "CREATE OR REPLACE TABLE"}


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


def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Prefix caller keys; values must already be strings (Delta stores strings)."""
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("commit metadata keys and values must be strings")
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
    if info.get("operation") not in _DATA_OPERATIONS:
        return None
    # History reports versions by counting back from a snapshot, which races with
    # concurrent writers; the commit file's own number is exact.
    metadata = {
        k[len(METADATA_PREFIX) :]: str(v) for k, v in info.items() if k.startswith(METADATA_PREFIX)
    }
    write_id = metadata.pop(WRITE_ID_KEY, None)
    metrics = info.get("operationMetrics") or {}
    return BatchInfo(
        version=version,
        timestamp_ms=int(info.get("timestamp", 0)),
        mode=str((info.get("operationParameters") or {}).get("mode", "Append")).lower(),
        record_count=int(metrics.get("num_added_rows", records)),
        size_bytes=size,
        metadata=metadata,
        write_id=write_id,
    )


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
