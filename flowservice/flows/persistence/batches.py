"""Catalog batch rows (kind ``batches``, ``parent_id`` = dataset id): one per write, with outcome.

A run's commit carries ``batchId``, ``flowId`` and ``runId`` in its Delta
commit metadata under these keys, so a commit whose row was never written
(a crash between commit and record) can still be listed from the lake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from flowservice.flows.persistence.datasets import DATASET_KIND
from flowservice.lake import BatchInfo
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

BATCH_KIND = "batches"
BATCH_ID_KEY, FLOW_ID_KEY, RUN_ID_KEY = "batchId", "flowId", "runId"


def register_batch(
    session: Session,
    *,
    scope: Scope,
    dataset_id: str,
    batch_id: str,
    status: str,
    started: int,
    completed: int,
    info: BatchInfo | None = None,
    record_count: int | None = None,
    size_bytes: int | None = None,
    failed_record_count: int = 0,
    flow_id: str | None = None,
    run_id: str | None = None,
    errors: Sequence[Mapping[str, str]] = (),
) -> Resource:
    """Record a batch of a dataset of this scope (``info``: its commit, when it committed)."""
    resources.get_resource(session, scope=scope, kind=DATASET_KIND, resource_id=dataset_id)
    doc: dict[str, Any] = {
        "dataSetId": dataset_id,
        "status": status,
        "started": started,
        "completed": completed,
        "recordCount": record_count
        if record_count is not None
        else (info.record_count if info else 0),
        "failedRecordCount": failed_record_count,
        "size": size_bytes if size_bytes is not None else (info.size_bytes if info else 0),
        "deltaVersion": info.version if info else None,
        "mode": info.mode if info else None,
        "flowId": flow_id,
        "runId": run_id,
        "errors": [dict(e) for e in errors],
    }
    return resources.insert_resource(
        session,
        scope=scope,
        kind=BATCH_KIND,
        doc=doc,
        state=status,
        parent_id=dataset_id,
        resource_id=batch_id,
    )
