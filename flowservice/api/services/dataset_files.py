"""Data Access: a batch's dataset files, their bytes, and a whole dataset's export.

A batch is one Delta commit; its dataset files are the Parquet files that
commit added, one dataset file each. A dataset file's id is
``{batchId}-{n}``: ``n`` counts the commit's added files from 1, in path
order. ``GET /files/{id}`` lists the one Parquet file behind the id (its
``name`` is the file's path in the table), and ``?path=NAME`` answers its
bytes, a ``Range: bytes=a-b`` slice of them when asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from flowservice.api.runtime import Runtime
from flowservice.api.services import batches, datasets
from flowservice.errors import NotFound
from flowservice.flows.persistence.batches import BATCH_ID_KEY
from flowservice.lake import Dataset
from flowservice.lake.batch_files import DataFile, added_files, read_data_file, stored_size
from flowservice.lake.export import MEDIA_TYPES, export_chunks, export_format
from flowservice.settings import EXPORT_PREFIX
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

MAX_PAGE = 100
PARQUET = "application/octet-stream"
_FILE_ID = re.compile(r"^(?P<batch>.+)-(?P<n>[1-9][0-9]{0,8})$")
_RANGE = re.compile(r"^bytes=(?P<start>[0-9]*)-(?P<end>[0-9]*)$")


@dataclass(frozen=True)
class FileBytes:
    """A slice of a file's bytes: ``start``..``end`` inclusive of ``size``; ``partial`` = 206."""

    chunks: Iterator[bytes]
    start: int
    end: int
    size: int
    partial: bool
    media_type: str = PARQUET

    @property
    def length(self) -> int:
        return self.end - self.start + 1 if self.size else 0


@dataclass(frozen=True)
class Export:
    """A dataset export: its bytes as they are encoded, media type and file name."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str


@dataclass(frozen=True)
class _BatchFiles:
    dataset_id: str
    dataset: Dataset
    files: list[DataFile]


def _batch_files(session: Session, runtime: Runtime, scope: Scope, batch_id: str) -> _BatchFiles:
    batch = batches.find_batch(session, runtime, scope, batch_id)  # 404 outside the scope
    dataset_id = next(o["id"] for o in batch["relatedObjects"] if o["type"] == "dataSet")
    row = resources.get_resource(session, scope=scope, kind=datasets.KIND, resource_id=dataset_id)
    dataset = datasets.dataset_of(runtime.settings, scope, row)
    version = (batch.get("metrics") or {}).get("deltaVersion")
    if version is None and batch["status"] == "success":
        info = dataset.find_commit(within=batches.LAKE_LOOKBACK, **{BATCH_ID_KEY: batch_id})
        version = None if info is None else info.version
    files = [] if version is None else added_files(dataset.location, int(version))
    return _BatchFiles(dataset_id, dataset, files)


def _file_href(file_id: str, path: str | None = None) -> str:
    href = f"{EXPORT_PREFIX}/files/{quote(file_id)}"
    return href if path is None else f"{href}?path={quote(path, safe='/')}"


def batch_files(
    session: Session, runtime: Runtime, scope: Scope, batch_id: str, *, start: int, limit: int
) -> dict[str, Any]:
    """``GET /batches/{id}/files``: one dataset file per Parquet file the batch's commit added."""
    found = _batch_files(session, runtime, scope, batch_id)
    page = list(enumerate(found.files, start=1))[start : start + limit]
    items = []
    for n, data_file in page:
        file_id = f"{batch_id}-{n}"
        items.append(
            {
                "dataSetFileId": file_id,
                "dataSetViewId": found.dataset_id,
                "version": "1.0.0",
                "created": str(data_file.modified_ms),
                "updated": str(data_file.modified_ms),
                "records": str(data_file.records),
                "size": str(data_file.size_bytes),
                # false once a later write removed the file and VACUUM deleted it
                "isValid": stored_size(found.dataset.location, data_file.path) is not None,
                "_links": {"self": {"href": _file_href(file_id)}},
            }
        )
    links: dict[str, Any] = {}
    if start + limit < len(found.files):
        base = f"{EXPORT_PREFIX}/batches/{quote(batch_id)}/files"
        links["next"] = {"href": f"{base}?start={start + limit}&limit={limit}"}
    return {"data": items, "_page": {"limit": limit, "count": len(items)}, "_links": links}


def _data_file(
    session: Session, runtime: Runtime, scope: Scope, file_id: str
) -> tuple[Dataset, DataFile]:
    match = _FILE_ID.match(file_id)
    if match is None:
        raise _no_file(file_id)
    found = _batch_files(session, runtime, scope, match["batch"])
    n = int(match["n"])
    if n > len(found.files):
        raise _no_file(file_id)
    return found.dataset, found.files[n - 1]


def file_listing(
    session: Session, runtime: Runtime, scope: Scope, file_id: str, *, start: int, limit: int
) -> dict[str, Any]:
    """``GET /files/{id}``: the dataset file's one Parquet file, with its download link."""
    _dataset, data_file = _data_file(session, runtime, scope, file_id)
    entries = [
        {
            "name": data_file.path,
            "length": str(data_file.size_bytes),
            "_links": {"self": {"href": _file_href(file_id, data_file.path)}},
        }
    ][start : start + limit]
    return {"data": entries, "_page": {"limit": limit, "count": len(entries)}, "_links": {}}


def file_bytes(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    file_id: str,
    path: str,
    range_header: str | None,
) -> FileBytes:
    """``GET /files/{id}?path=NAME``: the file's bytes, or the slice ``Range`` asks for."""
    dataset, data_file = _data_file(session, runtime, scope, file_id)
    if path.strip("/") != data_file.path:
        raise _no_file(file_id, path)
    size = stored_size(dataset.location, data_file.path)
    if size is None:
        raise _vacuumed(file_id, data_file.path)
    wanted = byte_range(range_header, size)
    start, end = wanted if wanted is not None else (0, size - 1)
    try:
        chunks = read_data_file(dataset.location, data_file.path, start, end)
    except NotFound as exc:
        raise _vacuumed(file_id, data_file.path) from exc
    return FileBytes(chunks, start, end, size, partial=wanted is not None)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` as inclusive offsets within ``size``.

    None (answer the whole file) for no header, several ranges, a malformed one or one
    that starts past the end: a server may ignore a Range it will not serve."""
    match = _RANGE.match((header or "").strip())
    if match is None or size == 0:
        return None
    first, last = match["start"], match["end"]
    if first == "" and last == "":
        return None
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        return None
    return start, end


def export_dataset(
    session: Session, runtime: Runtime, scope: Scope, dataset_id: str, file_format: str
) -> Export:
    """The dataset's current version as one Parquet or CSV file (a flowservice extension)."""
    chosen = export_format(file_format)
    dataset = datasets.open_dataset(session, runtime.settings, scope, dataset_id)
    return Export(export_chunks(dataset, chosen), MEDIA_TYPES[chosen], f"{dataset_id}.{chosen}")


def _no_file(file_id: str, path: str | None = None) -> NotFound:
    message = f"The requested dataset file {file_id[:200]} is not found. Verify the id."
    if path is not None:
        message = (
            f"Dataset file {file_id[:200]} has no file {path[:200]!r}; "
            f"GET {EXPORT_PREFIX}/files/{file_id[:200]} lists its file."
        )
    return NotFound(message, resource_type="files", resource_id=file_id[:200])


def _vacuumed(file_id: str, path: str) -> NotFound:
    return NotFound(
        f"Dataset file {file_id} ({path}) is no longer stored: a later overwrite or merge "
        "replaced it and the dataset was vacuumed. Export the dataset for its current rows.",
        resource_type="files",
        resource_id=file_id,
    )
