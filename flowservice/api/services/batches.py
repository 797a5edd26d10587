"""Catalog batches: one per write into a dataset (one Delta commit), recorded with its outcome.

``record_batch`` writes data into a dataset and records the batch; runners
that write through ``flowservice.lake`` themselves call ``register_batch``
(``flowservice.flows.persistence.batches``) afterwards. Commits in the lake
that carry a ``batchId`` but were never registered (a crash between commit
and record) are still listed, read from the Delta log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.runtime import Runtime
from flowservice.api.services import datasets
from flowservice.errors import FlowServiceError, LakeError, NotFound
from flowservice.flows.persistence.batches import (
    BATCH_ID_KEY,
    BATCH_KIND,
    FLOW_ID_KEY,
    RUN_ID_KEY,
    register_batch,
)
from flowservice.lake import BatchInfo, WriteMode
from flowservice.lake.dataset import BatchSource
from flowservice.settings import EXPORT_PREFIX
from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = BATCH_KIND
LAKE_LOOKBACK = 200  # recent commits read to find batches that were never registered
FILTERABLE = frozenset(
    {
        "id",
        "status",
        "created",
        "updated",
        "recordCount",
        "size",
        "started",
        "completed",
        "tags.flowId[]",
        "tags.runId[]",
    }
)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# a batch some of whose records did not fit the dataset (SchemaMismatch's number)
PARTIAL_INGESTION_CODE = "FLOW-1425-400"


def new_batch_id(now: int | None = None) -> str:
    """A ULID: 48-bit epoch milliseconds then 80 random bits, 26 Crockford base-32 digits."""
    value = ((now_ms() if now is None else now) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@dataclass(frozen=True)
class BatchRecord:
    """What ``record_batch`` did: the batch id, its status and, on success, the commit."""

    id: str
    dataset_id: str
    status: str
    version: int | None
    record_count: int
    size_bytes: int
    started: int
    completed: int


def record_batch(
    runtime: Runtime,
    scope: Scope,
    dataset_id: str,
    data: BatchSource,
    *,
    mode: WriteMode = "append",
    flow_id: str | None = None,
    run_id: str | None = None,
    failed_record_count: int = 0,
    batch_id: str | None = None,
) -> BatchRecord:
    """Write ``data`` into the dataset as one batch (one commit) and record it.

    A failed write is recorded as a ``failed`` batch (no rows became visible)
    and its error raised again.
    """
    started = now_ms()
    batch_id = batch_id or new_batch_id(started)
    with runtime.transaction() as session:
        dataset = datasets.open_dataset(session, runtime.settings, scope, dataset_id)
    metadata = {BATCH_ID_KEY: batch_id}
    metadata |= {k: v for k, v in ((FLOW_ID_KEY, flow_id), (RUN_ID_KEY, run_id)) if v}
    try:
        result = dataset.write_batch(data, mode=mode, commit_metadata=metadata)
    except FlowServiceError as exc:
        _record_failure(runtime, scope, dataset_id, batch_id, started, flow_id, run_id, exc)
        raise
    except Exception as exc:
        _record_failure(runtime, scope, dataset_id, batch_id, started, flow_id, run_id, exc)
        raise LakeError(f"writing batch {batch_id} failed: {type(exc).__name__}") from exc
    completed = now_ms()
    info = dataset.find_commit(within=50, **{BATCH_ID_KEY: batch_id})
    with runtime.transaction() as session:
        register_batch(
            session,
            scope=scope,
            dataset_id=dataset_id,
            batch_id=batch_id,
            status="success",
            started=started,
            completed=completed,
            info=info,
            record_count=result.record_count,
            size_bytes=result.size_bytes,
            failed_record_count=failed_record_count,
            flow_id=flow_id,
            run_id=run_id,
        )
    return BatchRecord(
        batch_id,
        dataset_id,
        "success",
        result.version,
        result.record_count,
        result.size_bytes,
        started,
        completed,
    )


def _record_failure(
    runtime: Runtime,
    scope: Scope,
    dataset_id: str,
    batch_id: str,
    started: int,
    flow_id: str | None,
    run_id: str | None,
    exc: BaseException,
) -> None:
    code = f"FLOW-{exc.code}-{exc.status}" if isinstance(exc, FlowServiceError) else "FLOW-2001-500"
    message = exc.message if isinstance(exc, FlowServiceError) else type(exc).__name__
    with runtime.transaction() as session:
        register_batch(
            session,
            scope=scope,
            dataset_id=dataset_id,
            batch_id=batch_id,
            status="failed",
            started=started,
            completed=now_ms(),
            flow_id=flow_id,
            run_id=run_id,
            errors=[{"code": code, "description": message}],
        )


def to_wire(row: Resource, scope: Scope) -> dict[str, Any]:
    doc = row.doc
    item: dict[str, Any] = {
        "id": row.id,
        "imsOrg": row.org_id,
        "sandboxId": row.sandbox_id,
        "sandboxName": scope.sandbox_name,
        "created": row.created_at,
        "updated": row.updated_at,
        "createdClient": row.created_client,
        "createdUser": row.created_by,
        "updatedUser": row.updated_by,
        "version": "1.0.0",
    }
    return item | _outcome(doc, row.id)


def _errors(doc: Mapping[str, Any], batch_id: str) -> list[dict[str, Any]]:
    """The recorded errors; a partly ingested batch says how many records were left out."""
    errors = [dict(e) for e in doc.get("errors") or []]
    failed = int(doc.get("failedRecordCount") or 0)
    if failed and doc.get("status") == "success" and not errors:
        errors.append(
            {
                "code": PARTIAL_INGESTION_CODE,
                "description": f"{failed} records failed mapping and were left out; "
                f"GET {EXPORT_PREFIX}/batches/{batch_id}/failed lists them for download.",
                "recordCount": failed,
            }
        )
    return errors


def _outcome(doc: Mapping[str, Any], batch_id: str) -> dict[str, Any]:
    # the Catalog's relatedObjects types stop at datasets and batches; the flow and run
    # that wrote a batch go in tags, where source batches carry them
    tags = {key: [doc[key]] for key in (FLOW_ID_KEY, RUN_ID_KEY) if doc.get(key)}
    metrics: dict[str, Any] = {}
    if doc.get("deltaVersion") is not None:
        metrics = {"deltaVersion": doc["deltaVersion"], "mode": doc.get("mode")}
    return {
        "status": doc["status"],
        "started": doc["started"],
        "completed": doc["completed"],
        "recordCount": doc["recordCount"],
        "failedRecordCount": doc.get("failedRecordCount", 0),
        "size": doc["size"],
        "errors": _errors(doc, batch_id),
        "relatedObjects": [{"type": "dataSet", "id": doc["dataSetId"]}],
        "tags": tags,
        "metrics": metrics,
    }


def lake_only_wire(info: BatchInfo, dataset_row: Resource, scope: Scope) -> dict[str, Any]:
    """A batch committed to the lake but never registered, shown from its commit."""
    batch_id = info.metadata[BATCH_ID_KEY]
    doc = {
        "dataSetId": dataset_row.id,
        "status": "success",
        "started": info.timestamp_ms,
        "completed": info.timestamp_ms,
        "recordCount": info.record_count,
        "size": info.size_bytes,
        "deltaVersion": info.version,
        "mode": info.mode,
        "flowId": info.metadata.get(FLOW_ID_KEY),
        "runId": info.metadata.get(RUN_ID_KEY),
    }
    return {
        "id": batch_id,
        "imsOrg": dataset_row.org_id,
        "sandboxId": dataset_row.sandbox_id,
        "sandboxName": scope.sandbox_name,
        "created": info.timestamp_ms,
        "updated": info.timestamp_ms,
        "version": "1.0.0",
    } | _outcome(doc, batch_id)


def batches_of_dataset(
    session: Session, runtime: Runtime, scope: Scope, dataset_row: Resource
) -> list[dict[str, Any]]:
    """Every recorded batch of the dataset, plus committed batches never recorded."""
    rows = resources.list_resources(session, scope=scope, kind=KIND, parent_ids=[dataset_row.id])
    items = [to_wire(row, scope) for row in rows]
    known = {row.id for row in rows}
    dataset = datasets.dataset_of(runtime.settings, scope, dataset_row)
    for info in dataset.batches(limit=LAKE_LOOKBACK):
        batch_id = info.metadata.get(BATCH_ID_KEY)
        if batch_id and batch_id not in known:
            items.append(lake_only_wire(info, dataset_row, scope))
            known.add(batch_id)
    return items


def all_batches(session: Session, runtime: Runtime, scope: Scope) -> list[dict[str, Any]]:
    """The batches of every dataset of the scope (each dataset's recent commits are read)."""
    items: list[dict[str, Any]] = []
    for dataset_row in resources.list_resources(session, scope=scope, kind=datasets.KIND):
        items.extend(batches_of_dataset(session, runtime, scope, dataset_row))
    return items


def find_batch(session: Session, runtime: Runtime, scope: Scope, batch_id: str) -> dict[str, Any]:
    """A batch by id: its record, or a committed but unrecorded batch in one of the datasets."""
    try:
        return to_wire(
            resources.get_resource(session, scope=scope, kind=KIND, resource_id=batch_id), scope
        )
    except NotFound:
        pass
    for dataset_row in resources.list_resources(session, scope=scope, kind=datasets.KIND):
        dataset = datasets.dataset_of(runtime.settings, scope, dataset_row)
        info = dataset.find_commit(within=LAKE_LOOKBACK, **{BATCH_ID_KEY: batch_id})
        if info is not None:
            return lake_only_wire(info, dataset_row, scope)
    raise NotFound(
        f"The requested batch {batch_id} is not found. Verify the batch ID before trying again.",
        resource_type=KIND,
        resource_id=batch_id,
    )


def last_batch(
    session: Session, runtime: Runtime, scope: Scope, dataset_row: Resource
) -> dict[str, Any] | None:
    """The newest batch of a dataset (for ``lastBatchId``/``lastBatchStatus``); one commit read."""
    rows = resources.list_resources(session, scope=scope, kind=KIND, parent_ids=[dataset_row.id])
    newest = to_wire(rows[-1], scope) if rows else None
    dataset = datasets.dataset_of(runtime.settings, scope, dataset_row)
    for info in dataset.batches(limit=1):
        batch_id = info.metadata.get(BATCH_ID_KEY)
        unrecorded = batch_id and all(row.id != batch_id for row in rows)
        if unrecorded and (newest is None or info.timestamp_ms >= newest["created"]):
            return lake_only_wire(info, dataset_row, scope)
    return newest
