"""The run repository the engine uses: runs in the store, a success also a Catalog batch."""

from __future__ import annotations

import logging
from datetime import datetime

from flowservice.core import Core
from flowservice.flows.failure_policy import FailurePolicy
from flowservice.flows.persistence import runs
from flowservice.flows.persistence.batches import BATCH_ID_KEY, register_batch
from flowservice.flows.persistence.datasets import open_dataset
from flowservice.flows.persistence.runs import StoreRunRepository
from flowservice.flows.run_context import resolve_copy_context, run_scope, target_dataset_id
from flowservice.flows.run_state import Run, RunStatus
from flowservice.flows.schedule import to_epoch_ms
from flowservice.store.tables import Resource

log = logging.getLogger(__name__)


class CatalogRunRepository(StoreRunRepository):
    """Also records a successful run's commit as a Catalog batch (with its failed count)."""

    def __init__(self, core: Core, failure_policy: FailurePolicy | None = None) -> None:
        super().__init__(
            core.sessions,
            lambda session, row, run: resolve_copy_context(core, session, row, run),
            failure_policy,
        )
        self._core = core

    def finish(self, run: Run, *, watermark: datetime | None) -> None:
        super().finish(run, watermark=watermark)
        if run.status is RunStatus.SUCCESS and run.batch_id is not None:
            try:
                self._register(run)
            except Exception as exc:
                # the lake still lists the commit as a batch (its metadata names flow and run)
                log.warning("run %s: batch not recorded (%s)", run.id, type(exc).__name__)

    def _register(self, run: Run) -> None:
        assert run.batch_id is not None
        with self._core.transaction() as session:
            scope = run_scope(session, runs.run_row(session, run.id))
            dataset_id = target_dataset_id(session, scope, run)
            if session.get(Resource, run.batch_id) is not None:
                return  # a replayed window: its batch is recorded already
            dataset = open_dataset(session, self._core.settings, scope, dataset_id)
            info = dataset.find_commit(within=50, **{BATCH_ID_KEY: run.batch_id})
            register_batch(
                session,
                scope=scope,
                dataset_id=dataset_id,
                batch_id=run.batch_id,
                status="success",
                started=to_epoch_ms(run.started_at or run.created_at),
                completed=to_epoch_ms(run.completed_at or run.created_at),
                info=info,
                # the commit's own figures: a replayed run (crash after the commit) counts 0
                record_count=None if info is not None else run.counts.output_records,
                size_bytes=None if info is not None else run.counts.output_bytes,
                failed_record_count=run.counts.failed_records,
                flow_id=run.flow_id,
                run_id=run.id,
            )
