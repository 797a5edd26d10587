"""The run repository the engine uses: runs in the store, a success also a Catalog batch."""

from __future__ import annotations

import logging
from datetime import datetime

from flowservice.alerts import outbox as alert_outbox
from flowservice.alerts.facts import RunFacts, ScopedRun
from flowservice.alerts.kinds import Phase
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

    def save(self, run: Run) -> None:
        super().save(run)
        if run.status is RunStatus.IN_PROGRESS:
            alert_outbox.record(self._core.sessions, Phase.STARTED, alert_facts(run))

    def finish(self, run: Run, *, watermark: datetime | None) -> None:
        super().finish(run, watermark=watermark)
        alert_outbox.record(self._core.sessions, Phase.FINISHED, alert_facts(run))
        if run.status is RunStatus.SUCCESS and run.batch_id is not None:
            try:
                self._register(run)
            except Exception as exc:
                # the lake still lists the commit as a batch (its metadata names flow and run)
                log.warning("run %s: batch not recorded (%s)", run.id, type(exc).__name__)

    def alert_runs_in_progress(self) -> list[ScopedRun]:
        """Every ``inProgress`` run with its org and sandbox, for the delay alert."""
        with self._core.transaction() as session:
            return [
                ScopedRun(row.org_id, row.sandbox_id, alert_facts(runs.run_of(row)))
                for row in runs.run_ids_with_status(session, RunStatus.IN_PROGRESS)
            ]

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


def alert_facts(run: Run) -> RunFacts:
    """What the alerts of ``flowservice.alerts`` are told about a run."""
    return RunFacts(
        run_id=run.id,
        flow_id=run.flow_id,
        status=str(run.status),
        attempt=run.attempt,
        started_at_ms=None if run.started_at is None else to_epoch_ms(run.started_at),
        completed_at_ms=None if run.completed_at is None else to_epoch_ms(run.completed_at),
        input_records=run.counts.input_records,
        output_records=run.counts.output_records,
        failed_records=run.counts.failed_records,
        error_code=run.errors[-1].code if run.errors else None,
    )
