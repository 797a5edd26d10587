"""Data Access: a batch's failed records and row errors, read from ``_failed/<batchId>/``.

Listings answer Adobe's ``files`` shape (``data[]`` of ``{name, length,
_links.self.href}``, ``_page``); a ``path`` names one file, whose content is
answered as it is stored. Records older than the configured retention are
deleted when asked for and read as absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from flowservice.api.runtime import Runtime
from flowservice.api.services import batches, datasets
from flowservice.errors import NotFound
from flowservice.lake import LakeLocation
from flowservice.lake.failed_records import (
    RECORDS_FILE,
    Manifest,
    delete_failed_records,
    iter_lines,
    purge_expired,
    read_manifest,
    read_records_file,
)
from flowservice.settings import EXPORT_PREFIX
from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

MAX_PAGE = 100
ROW_ERRORS, INPUT_FILES, ROW_ERRORS_SAMPLE = "row_errors", "input_files", "row_errors_sample.json"
ROW_ERRORS_FILE = f"{ROW_ERRORS}/row_errors.json"
INPUT_FILE = f"{INPUT_FILES}/input_file.json"
SAMPLE_ROWS = 100
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Download:
    """A file's content and media type."""

    content: bytes
    media_type: str


@dataclass(frozen=True)
class _Kept:
    location: LakeLocation
    manifest: Manifest | None


def _kept(session: Session, runtime: Runtime, scope: Scope, batch_id: str) -> _Kept:
    """The batch's dataset location and its live manifest (None: nothing kept, or expired)."""
    batch = batches.find_batch(session, runtime, scope, batch_id)  # 404 outside the scope
    dataset_id = next(o["id"] for o in batch["relatedObjects"] if o["type"] == "dataSet")
    row = resources.get_resource(session, scope=scope, kind=datasets.KIND, resource_id=dataset_id)
    location = datasets.dataset_of(runtime.settings, scope, row).location
    retention = runtime.settings.failed_records_retention_days
    now = now_ms()
    manifest = read_manifest(location, batch_id)
    if manifest is not None and manifest.expired(now, retention):
        delete_failed_records(location, batch_id)
        manifest = None
    # reading is also when the dataset's other expired records go
    purge_expired(location, now_ms=now, retention_days=retention)
    return _Kept(location, manifest)


def _listing(entries: list[tuple[str, int, str]], start: int, limit: int) -> dict[str, Any]:
    page = entries[start : start + limit]
    return {
        "data": [
            {"name": name, "length": str(length), "_links": {"self": {"href": href}}}
            for name, length, href in page
        ],
        "_page": {"limit": limit, "count": len(page)},
        "_links": {},
    }


def _href(batch_id: str, route: str, path: str) -> str:
    return f"{EXPORT_PREFIX}/batches/{quote(batch_id)}/{route}?path={quote(path, safe='/')}"


def failed_files(
    session: Session, runtime: Runtime, scope: Scope, batch_id: str, *, start: int, limit: int
) -> dict[str, Any]:
    """``GET /batches/{id}/failed``: the failed-records file, when the batch has one."""
    kept = _kept(session, runtime, scope, batch_id)
    entries = []
    if kept.manifest is not None:
        entries = [(n, size, _href(batch_id, "failed", n)) for n, size in kept.manifest.files]
    return _listing(entries, start, limit)


def failed_file(
    session: Session, runtime: Runtime, scope: Scope, batch_id: str, path: str
) -> Download:
    """``GET /batches/{id}/failed?path=...``: one failed record per line, source values and why."""
    kept = _kept(session, runtime, scope, batch_id)
    if kept.manifest is None or path != RECORDS_FILE:
        raise _no_file(batch_id, path)
    return Download(_records(kept, batch_id), NDJSON)


def meta(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    batch_id: str,
    path: str | None,
    *,
    start: int,
    limit: int,
) -> dict[str, Any] | Download:
    """``GET /batches/{id}/meta[?path=...]``: row errors, input file metadata, a sample."""
    kept = _kept(session, runtime, scope, batch_id)
    clean = (path or "").strip("/")
    if kept.manifest is None:
        # nothing kept (no failed rows, or expired): empty directories, no files
        if clean in ("", ROW_ERRORS, INPUT_FILES):
            return _listing([], start, limit)
        raise _no_file(batch_id, clean)
    if clean == "":
        names = [ROW_ERRORS, INPUT_FILES, ROW_ERRORS_SAMPLE]
        return _listing([(n, 0, _href(batch_id, "meta", n)) for n in names], start, limit)
    if clean == INPUT_FILES:
        content = _input_file(kept, batch_id)
        href = _href(batch_id, "meta", INPUT_FILE)
        return _listing([(INPUT_FILE, len(content), href)], start, limit)
    if clean == INPUT_FILE:
        return Download(_input_file(kept, batch_id), "application/json")
    if clean == ROW_ERRORS:
        content = _row_errors(kept, batch_id)
        href = _href(batch_id, "meta", ROW_ERRORS_FILE)
        return _listing([(ROW_ERRORS_FILE, len(content), href)], start, limit)
    if clean == ROW_ERRORS_FILE:
        return Download(_row_errors(kept, batch_id), NDJSON)
    if clean == ROW_ERRORS_SAMPLE:
        sample = [_row_error(line) for line in _lines(kept, batch_id)[:SAMPLE_ROWS]]
        return Download(json.dumps(sample).encode(), "application/json")
    raise _no_file(batch_id, clean)


def _no_file(batch_id: str, path: str) -> NotFound:
    return NotFound(
        f"batch {batch_id} has no file {path[:200]!r} (failed records are kept for "
        "a limited number of days)",
        resource_type="batches",
        resource_id=batch_id,
    )


def _records(kept: _Kept, batch_id: str) -> bytes:
    raw = read_records_file(kept.location, batch_id)
    if raw is None:
        raise _no_file(batch_id, RECORDS_FILE)
    return raw


def _lines(kept: _Kept, batch_id: str) -> list[dict[str, Any]]:
    return list(iter_lines(_records(kept, batch_id)))


def _row_error(line: dict[str, Any]) -> dict[str, Any]:
    return {"row": line["row"], "errors": line["errors"]}


def _row_errors(kept: _Kept, batch_id: str) -> bytes:
    rows = (_row_error(line) for line in _lines(kept, batch_id))
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def _input_file(kept: _Kept, batch_id: str) -> bytes:
    manifest = kept.manifest
    if manifest is None:
        raise _no_file(batch_id, INPUT_FILE)
    body = {
        "path": manifest.table,
        "recordCount": manifest.input_count,
        "failedRecordCount": manifest.failed_count,
        "keptFailedRecordCount": manifest.kept_count,
    }
    return json.dumps(body).encode()
