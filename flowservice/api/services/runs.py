"""Runs: on-demand creation, re-trigger and cancel, the wire shape, and the run engine.

``FlowEngine`` wires the store-backed repositories, the DB lease store, the
runner, the local executor and the scheduler loop; the app starts it in its
lifespan (``Settings.scheduler_enabled``).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.connector_lookup import require_connector
from flowservice.api.patching import quote_etag
from flowservice.api.runtime import Runtime
from flowservice.api.services import batches, connections, datasets, mapping_sets
from flowservice.connectors.base import Connector
from flowservice.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from flowservice.flows import run_log
from flowservice.flows.batch_mapping import CompileOnFirstBatch
from flowservice.flows.cancellation import CancelSignal, PollingCancel
from flowservice.flows.copy_modes import copy_mode
from flowservice.flows.executors.local import LocalExecutor
from flowservice.flows.failure_policy import FailurePolicy
from flowservice.flows.flow_definition import check_delta_column, declared_columns
from flowservice.flows.lease import Leadership
from flowservice.flows.persistence import run_windows, runs
from flowservice.flows.persistence.leases import DbLeaseStore
from flowservice.flows.persistence.runs import StoreRunRepository
from flowservice.flows.persistence.schedules import StoreScheduleRepository, flow_scope, new_run
from flowservice.flows.retry import RetryPolicy
from flowservice.flows.run_copy import CopyJob
from flowservice.flows.run_json import run_to_json
from flowservice.flows.run_request import parse_run_request
from flowservice.flows.run_state import RUN_STATE_CONFLICT, Run, RunStatus
from flowservice.flows.runner import CopyContext, Runner
from flowservice.flows.schedule import to_epoch_ms
from flowservice.flows.scheduler_loop import SchedulerLoop
from flowservice.flows.source_process import ProcessSource, SourceProcesses
from flowservice.flows.transformations import DeltaColumn, parse_transformations
from flowservice.lake.xdm import fields_from_dicts
from flowservice.settings import Settings
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource, Sandbox

KIND = runs.RUN_KIND
log = logging.getLogger(__name__)
FILTERABLE = frozenset(
    {
        "id",
        "flowId",
        "state",
        "flowSpec.id",
        "metrics.statusSummary.status",
        "metrics.durationSummary.startedAtUTC",
        "metrics.durationSummary.completedAtUTC",
        "metrics.recordSummary.inputRecordCount",
        "metrics.recordSummary.outputRecordCount",
        "metrics.recordSummary.failedRecordCount",
        "createdAt",
        "updatedAt",
    }
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_wire(row: Resource, scope: Scope) -> dict[str, Any]:
    run = runs.run_of(row)
    item = run_to_json(
        run, etag=quote_etag(row.etag), sandbox_name=scope.sandbox_name, ims_org_id=scope.org_id
    )
    # lists filter on ``state==`` as for flows; the documented field is statusSummary.status
    item["state"] = str(run.status)
    return item


def _require_enabled(flow: Resource) -> None:
    if flow.state != "enabled":
        raise Conflict(
            f"flow {flow.id} is {flow.state}; enable it first "
            f"(POST /flows/{flow.id}/action?op=enable) to run it",
            code=RUN_STATE_CONFLICT,
            resource_type=runs.FLOW_KIND,
            resource_id=flow.id,
        )


def _no_active_run(session: Session, scope: Scope, flow_id: str, except_id: str = "") -> None:
    for row in runs.runs_of_flows(session, scope=scope, flow_ids=[flow_id]):
        if row.id != except_id and row.state in runs.ACTIVE:
            raise Conflict(
                f"flow {flow_id} already has run {row.id} {row.state}; "
                "wait for it or cancel it first",
                code=RUN_STATE_CONFLICT,
                resource_type=KIND,
                resource_id=row.id,
            )


def create_run(session: Session, scope: Scope, body: Any, *, now: datetime) -> Resource:
    """``POST /runs`` ``{flowId, params}``: a ``scheduled`` run, started when due."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", code=1405)
    unknown = sorted(set(body) - {"flowId", "params"})
    if unknown:
        raise ValidationFailed(f"{unknown[0]} is not a field of a run request (flowId, params)")
    flow_id = body.get("flowId")
    if not isinstance(flow_id, str) or not flow_id:
        raise ValidationFailed("flowId is required")
    try:
        flow = resources.get_resource(
            session, scope=scope, kind=runs.FLOW_KIND, resource_id=flow_id
        )
    except NotFound:
        raise ValidationFailed(f"flowId {flow_id} is not a flow of this org and sandbox") from None
    _require_enabled(flow)
    transformations = parse_transformations(flow.doc.get("transformations"))
    request = parse_run_request(
        body.get("params"), flow_delta_column=transformations.delta_column, now=now
    )
    _no_active_run(session, scope, flow.id)
    if request.window is not None:
        # an append-mode flow never copies a source row version twice (docs/flows.md)
        run_windows.check_window(session, scope=scope, flow_id=flow.id, window=request.window)
    if request.sets_flow_delta_column and request.delta_column is not None:
        flow = _set_delta_column(session, scope, flow, request.delta_column)
    run = new_run(flow, now=now, planned_window=request.window, schedule_end=None)
    return runs.insert_run(session, scope=scope, run=run, start_at=request.start_at)


def _set_delta_column(
    session: Session, scope: Scope, flow: Resource, delta_column: DeltaColumn
) -> Resource:
    """Store the delta column a flow's first on-demand run names, checked like a PATCH."""
    source_id = str(flow.doc["sourceConnectionIds"][0])
    source = resources.get_resource(
        session, scope=scope, kind="sourceConnections", resource_id=source_id
    )
    check_delta_column(
        delta_column,
        declared_columns(source.doc.get("params") or {}),
        source_id=source_id,
        where="params.deltaColumn.name",
    )
    doc = dict(flow.doc)
    transformations = parse_transformations(flow.doc.get("transformations"))
    doc["transformations"] = transformations.with_delta_column(delta_column).to_list()
    return resources.replace_resource(
        session,
        scope=scope,
        row=flow,
        expected_etag=None,
        doc=doc,
        name=flow.name,
        state=flow.state,
    )


def retrigger(session: Session, scope: Scope, row: Resource, *, now: datetime) -> Resource:
    run = runs.run_of(row)
    try:
        flow = resources.get_resource(
            session, scope=scope, kind=runs.FLOW_KIND, resource_id=run.flow_id
        )
    except NotFound:
        raise ValidationFailed(
            f"run {run.id} cannot run again: its flow {run.flow_id} was deleted"
        ) from None
    _require_enabled(flow)
    _no_active_run(session, scope, run.flow_id, except_id=run.id)
    run.retrigger(now)  # refuses a run that is not failed or cancelled
    if run.window is not None:
        run_windows.check_window(
            session, scope=scope, flow_id=run.flow_id, window=run.window, except_run=run.id
        )
    doc = dict(row.doc)
    doc["startAtUs"] = runs.to_us(now)
    previous = row.state
    row.doc = doc
    return runs.save_run(session, run=run, row=row, expected_state=previous)


def scheduled_runs(session: Session, scope: Scope, flow_id: str) -> list[Resource]:
    """The flow's runs waiting to start."""
    rows = runs.runs_of_flows(session, scope=scope, flow_ids=[flow_id])
    return [r for r in rows if r.state == str(RunStatus.SCHEDULED)]


def cancel(session: Session, row: Resource, *, now: datetime) -> tuple[Resource, Run]:
    """A ``scheduled`` run is cancelled here; an ``inProgress`` one by its worker (signalled)."""
    run = runs.run_of(row)
    if run.status is RunStatus.SCHEDULED:
        run.cancel(now)
        row = runs.save_run(session, run=run, row=row, expected_state=str(RunStatus.SCHEDULED))
        run_log.finished(run)
    elif run.status is RunStatus.IN_PROGRESS:
        runs.request_cancel(session, row=row)
    else:
        raise Conflict(
            f"run {run.id} is {run.status}; only scheduled or inProgress runs can be cancelled",
            code=RUN_STATE_CONFLICT,
            resource_type=KIND,
            resource_id=run.id,
        )
    return row, run


# --- the engine -------------------------------------------------------------


def _sandbox_name(session: Session, sandbox_id: str) -> str:
    sandbox = session.get(Sandbox, sandbox_id)
    return sandbox.name if sandbox is not None else ""


def resolve_copy_context(
    runtime: Runtime, session: Session, row: Resource, run: Run
) -> CopyContext:
    """The connector, dataset and job of a run, read from its flow and connections."""
    scope = flow_scope(row, sandbox_name=_sandbox_name(session, row.sandbox_id))
    flow = resources.get_resource(
        session, scope=scope, kind=runs.FLOW_KIND, resource_id=run.flow_id
    )
    transformations = parse_transformations(flow.doc.get("transformations"))
    source = resources.get_resource(
        session, scope=scope, kind="sourceConnections", resource_id=run.source_connection_ids[0]
    )
    base = resources.get_resource(
        session, scope=scope, kind=connections.KIND, resource_id=source.doc["baseConnectionId"]
    )
    target = resources.get_resource(
        session, scope=scope, kind="targetConnections", resource_id=run.target_connection_ids[0]
    )
    dataset_row = resources.get_resource(
        session, scope=scope, kind=datasets.KIND, resource_id=str(target.doc["params"]["dataSetId"])
    )
    cls = require_connector(str(base.spec_id))
    params = connections.auth_params(base, runtime.secret_box)
    secrets = [str(v) for v in connections.secret_params(base, runtime.secret_box).values()]
    columns = [str(c["name"]) for c in source.doc["params"].get("columns") or () if "name" in c]
    options = flow.doc.get("options") or {}
    connector = cls(params)
    table = str(source.doc["params"]["tableName"])
    mode = copy_mode(
        connector,
        table,
        target_params=target.doc["params"],
        source_params=source.doc["params"],
        has_mapping=transformations.mapping is not None,
    )
    job = CopyJob(
        flow_id=flow.id,
        table=table,
        columns=columns or None,
        partial_ingestion_percent=options.get("partialIngestionPercent"),
        mode=mode,
    )
    dataset = datasets.dataset_of(runtime.settings, scope, dataset_row)
    mapper = None
    if transformations.mapping is not None:
        version = mapping_sets.find_version(
            session, scope, transformations.mapping.mapping_id, transformations.mapping.version
        )
        declared = dataset_row.doc.get("fields")
        fields = dataset.fields() or (fields_from_dicts(declared) if declared else None)
        mapper = CompileOnFirstBatch(mapping_sets.rules(version), fields=fields)
    return CopyContext(
        job=job, connector=connector, dataset=dataset, mapper=mapper, secrets=secrets
    )


class CatalogRunRepository(StoreRunRepository):
    """Also records a successful run's commit as a Catalog batch (with its failed count)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            runtime.sessions,
            lambda s, row, run: resolve_copy_context(runtime, s, row, run),
            failure_policy(runtime.settings),
        )
        self._runtime = runtime

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
        with self._runtime.transaction() as session:
            row = runs.run_row(session, run.id)
            scope = flow_scope(row, sandbox_name=_sandbox_name(session, row.sandbox_id))
            target = resources.get_resource(
                session,
                scope=scope,
                kind="targetConnections",
                resource_id=run.target_connection_ids[0],
            )
            dataset_id = str(target.doc["params"]["dataSetId"])
            if session.get(Resource, run.batch_id) is not None:
                return  # a replayed window: its batch is recorded already
            dataset = datasets.open_dataset(session, self._runtime.settings, scope, dataset_id)
            info = dataset.find_commit(within=50, batchId=run.batch_id)
            batches.register_batch(
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


def failure_policy(settings: Settings) -> FailurePolicy:
    return FailurePolicy(
        retries=settings.run_failure_retries,
        base_delay=settings.run_failure_backoff_seconds,
        max_delay=settings.run_failure_backoff_max_seconds,
    )


class FlowEngine:
    """Scheduler loop + runner + local executor of one server process."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leases = DbLeaseStore(runtime.sessions)
        repo = CatalogRunRepository(runtime)
        self.sources = SourceProcesses() if settings.isolated_source_reads else None
        self._source_parts = settings.source_read_parts
        self.runner = Runner(
            repo,
            self.leases,
            holder=self.holder,
            retry=RetryPolicy(
                max_attempts=settings.run_retry_attempts,
                base_delay=settings.run_retry_base_delay,
                max_delay=max(60.0, settings.run_retry_base_delay),
            ),
            heartbeat_ttl=settings.run_heartbeat_seconds,
            reader=None if self.sources is None else self._process_source,
        )
        self.executor = LocalExecutor(self._handle, workers=settings.executor_workers)
        self._repo = repo
        self.loop = SchedulerLoop(
            StoreScheduleRepository(runtime.sessions),
            self.runner,
            self.executor,
            Leadership(self.leases, self.holder, ttl=settings.scheduler_lease_seconds),
            interval=settings.scheduler_interval_seconds,
            failure_policy=failure_policy(settings),
        )

    def _process_source(self, connector: Connector) -> ProcessSource:
        assert self.sources is not None
        return ProcessSource(connector, self.sources, parts=self._source_parts)

    def _handle(self, run_id: str, cancel: CancelSignal) -> None:
        # a cancel may reach any process: the executing one also polls the run's flag
        self.runner(run_id, PollingCancel(cancel, lambda: self._repo.cancel_requested(run_id)))

    def start(self) -> None:
        if self.sources is not None:
            self.sources.start()  # imports the drivers in the background, before the first run
        self.loop.start()

    def submit(self, run_id: str) -> None:
        self.executor.submit(run_id)

    def stop(self) -> None:
        self.loop.stop(timeout=10)
        # running runs are not cancelled: one still running when the process exits keeps its
        # status and is requeued by whichever process leads once its heartbeat lease expires
        self.executor.shutdown(wait=True, timeout=5)
        if self.sources is not None:
            self.sources.stop()
