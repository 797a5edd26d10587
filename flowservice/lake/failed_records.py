"""Failed records of a batch, kept beside its dataset for download: ``_failed/<batchId>/``.

A run whose mapping leaves rows out (partial ingestion) writes, after its
commit, one JSON-lines file of those rows (their source values and why each
failed) and a manifest saying when it was written and how many rows it holds.
Only failed rows cost anything: rows that map cleanly are never looked at.
The directory sits inside the dataset's table directory, which Delta readers
ignore (they read the files the log names), and goes with the dataset when it
is deleted. Records older than the retention are deleted when read and when a
later run of the dataset writes its own.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.fs as pafs

from flowservice.errors import LakeError
from flowservice.lake.location import LakeLocation

FAILED_DIR = "_failed"
RECORDS_FILE = "failed_records.json"
MANIFEST_FILE = "manifest.json"
# failed rows kept per batch: the count is exact beyond it, the download holds the first ones
MAX_KEPT_ROWS = 100_000
DAY_MS = 86_400_000
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class RowFailure(Protocol):
    @property
    def row(self) -> int: ...
    @property
    def mapping(self) -> int: ...
    @property
    def destination(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Manifest:
    """What ``_failed/<batchId>/manifest.json`` says."""

    batch_id: str
    created_ms: int
    failed_count: int
    kept_count: int
    input_count: int
    table: str
    files: tuple[tuple[str, int], ...]

    def expired(self, now_ms: int, retention_days: int) -> bool:
        return now_ms >= self.created_ms + retention_days * DAY_MS

    def to_json(self) -> dict[str, Any]:
        return {
            "batchId": self.batch_id,
            "created": self.created_ms,
            "failedRecordCount": self.failed_count,
            "keptRecordCount": self.kept_count,
            "inputRecordCount": self.input_count,
            "table": self.table,
            "files": [{"name": n, "length": size} for n, size in self.files],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Manifest:
        return cls(
            batch_id=str(raw["batchId"]),
            created_ms=int(raw["created"]),
            failed_count=int(raw["failedRecordCount"]),
            kept_count=int(raw["keptRecordCount"]),
            input_count=int(raw.get("inputRecordCount") or 0),
            table=str(raw.get("table") or ""),
            files=tuple((str(f["name"]), int(f["length"])) for f in raw["files"]),
        )


class FailedRowCollector:
    """Keeps a run's failed rows (up to ``MAX_KEPT_ROWS``) as JSON lines, in memory."""

    def __init__(self, limit: int = MAX_KEPT_ROWS) -> None:
        self.limit = limit
        self.lines: list[bytes] = []

    @property
    def room(self) -> int:
        return max(self.limit - len(self.lines), 0)

    def add(
        self,
        batch: pa.RecordBatch,
        mask: pa.Array,
        errors: Sequence[RowFailure],
        *,
        offset: int,
        redact: Any = None,
    ) -> None:
        """``errors`` name the failed rows of ``batch`` (indices in it); ``mask`` marks them."""
        if not errors or self.room == 0:
            return
        failed = batch.filter(mask)  # only the failed rows become Python objects
        records = failed.slice(0, min(len(errors), self.room)).to_pylist()
        for error, record in zip(errors, records, strict=False):
            reason = redact(error.reason) if redact is not None else error.reason
            line = {
                "row": offset + error.row,
                "record": record,
                "errors": [
                    {"mapping": error.mapping, "destination": error.destination, "reason": reason}
                ],
            }
            self.lines.append(json.dumps(line, default=_json_default).encode() + b"\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _failed_root(dataset: LakeLocation) -> tuple[pafs.FileSystem, str]:
    fs, root = dataset.filesystem()
    return fs, f"{root}/{FAILED_DIR}"


def _checked(batch_id: str) -> str:
    if not _BATCH_ID.match(batch_id):
        raise LakeError(f"batch id {batch_id[:40]!r} cannot name a lake directory")
    return batch_id


def write_failed_records(
    dataset: LakeLocation,
    batch_id: str,
    lines: Sequence[bytes],
    *,
    failed_count: int,
    input_count: int,
    table: str,
    created_ms: int,
) -> Manifest:
    """Write the rows, then the manifest (a reader sees both or neither)."""
    fs, root = _failed_root(dataset)
    folder = f"{root}/{_checked(batch_id)}"
    fs.create_dir(folder, recursive=True)
    size = 0
    with fs.open_output_stream(f"{folder}/{RECORDS_FILE}") as out:
        for line in lines:
            out.write(line)
            size += len(line)
    manifest = Manifest(
        batch_id=batch_id,
        created_ms=created_ms,
        failed_count=failed_count,
        kept_count=len(lines),
        input_count=input_count,
        table=table,
        files=((RECORDS_FILE, size),),
    )
    with fs.open_output_stream(f"{folder}/{MANIFEST_FILE}") as out:
        out.write(json.dumps(manifest.to_json()).encode())
    return manifest


def read_manifest(dataset: LakeLocation, batch_id: str) -> Manifest | None:
    raw = dataset.read_bytes(f"{FAILED_DIR}/{_checked(batch_id)}/{MANIFEST_FILE}")
    if raw is None:
        return None
    try:
        return Manifest.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return None  # a torn or foreign file: as if nothing was kept


def read_records_file(dataset: LakeLocation, batch_id: str) -> bytes | None:
    return dataset.read_bytes(f"{FAILED_DIR}/{_checked(batch_id)}/{RECORDS_FILE}")


def iter_lines(raw: bytes) -> Iterator[dict[str, Any]]:
    for line in raw.splitlines():
        if line.strip():
            yield json.loads(line)


def delete_failed_records(dataset: LakeLocation, batch_id: str) -> None:
    fs, root = _failed_root(dataset)
    folder = f"{root}/{_checked(batch_id)}"
    if fs.get_file_info(folder).type != pafs.FileType.NotFound:
        fs.delete_dir(folder)


def purge_expired(dataset: LakeLocation, *, now_ms: int, retention_days: int) -> list[str]:
    """Delete the dataset's failed records older than the retention; returns their batch ids."""
    fs, root = _failed_root(dataset)
    selector = pafs.FileSelector(root, allow_not_found=True, recursive=False)
    purged = []
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.Directory or not _BATCH_ID.match(info.base_name):
            continue
        manifest = read_manifest(dataset, info.base_name)
        # no manifest yet: being written right now (the manifest comes last); left alone
        if manifest is not None and manifest.expired(now_ms, retention_days):
            fs.delete_dir(info.path)
            purged.append(info.base_name)
    return purged
