"""A dataset's batches: its Delta commits that wrote data, with their metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

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
    size_bytes: int | None
    metadata: Mapping[str, str] = field(default_factory=dict)


def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Prefix caller keys; values must already be strings (Delta stores strings)."""
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("commit metadata keys and values must be strings")
        out[METADATA_PREFIX + key] = value
    return out


def batch_from_commit(commit: Mapping[str, Any], size_bytes: int | None) -> BatchInfo:
    metrics = commit.get("operationMetrics") or {}
    params = commit.get("operationParameters") or {}
    metadata = {
        key[len(METADATA_PREFIX) :]: str(value)
        for key, value in commit.items()
        if key.startswith(METADATA_PREFIX) and key != METADATA_PREFIX + WRITE_ID_KEY
    }
    return BatchInfo(
        version=int(commit["version"]),
        timestamp_ms=int(commit.get("timestamp", 0)),
        mode=str(params.get("mode", "Append")).lower(),
        record_count=int(metrics.get("num_added_rows", 0)),
        size_bytes=size_bytes,
        metadata=metadata,
    )


def is_data_commit(commit: Mapping[str, Any]) -> bool:
    return commit.get("operation") in _DATA_OPERATIONS


def data_commits(table: DeltaTable, limit: int | None = None) -> list[dict[str, Any]]:
    """Data-writing commits, newest first."""
    return [c for c in table.history(limit) if is_data_commit(c)]


def added_bytes(location: LakeLocation, version: int) -> int:
    """Bytes of the data files that ``version`` added (files new since ``version - 1``)."""
    now = _file_sizes(location, version)
    before = _file_sizes(location, version - 1) if version > 0 else {}
    return sum(size for path, size in now.items() if path not in before)


def _file_sizes(location: LakeLocation, version: int) -> dict[str, int]:
    table = DeltaTable(location.uri, version=version, storage_options=location.options())
    actions = pa.table(table.get_add_actions(flatten=False))
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    return dict(zip(paths, sizes, strict=True))
