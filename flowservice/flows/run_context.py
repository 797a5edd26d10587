"""A run's ``CopyContext``: its connector, dataset, job and mapping, read from its flow's rows.

The flow names a source connection (table, columns) on a base connection
(connector and decrypted auth), a target connection (the dataset and write
mode) and optionally a mapping set version; the runner and ``verify`` both
resolve a run through here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flowservice.connectors.registry import require_connector
from flowservice.core import Core
from flowservice.flows.batch_mapping import CompileOnFirstBatch
from flowservice.flows.copy_modes import copy_mode
from flowservice.flows.persistence import mapping_sets
from flowservice.flows.persistence.datasets import DATASET_KIND, dataset_of
from flowservice.flows.persistence.runs import FLOW_KIND
from flowservice.flows.persistence.schedules import flow_scope
from flowservice.flows.run_copy import CopyJob
from flowservice.flows.run_state import Run
from flowservice.flows.runner import CopyContext
from flowservice.flows.transformations import parse_transformations
from flowservice.lake.xdm import fields_from_dicts
from flowservice.store.connection_auth import auth_params, secret_params
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource, Sandbox

BASE_CONNECTION_KIND = "connections"
SOURCE_CONNECTION_KIND = "sourceConnections"
TARGET_CONNECTION_KIND = "targetConnections"


def run_scope(session: Session, row: Resource) -> Scope:
    """The org and sandbox a flow or run row lives in, acting as the scheduler."""
    sandbox = session.get(Sandbox, row.sandbox_id)
    return flow_scope(row, sandbox_name=sandbox.name if sandbox is not None else "")


def target_dataset_id(session: Session, scope: Scope, run: Run) -> str:
    """The id of the dataset the run's target connection writes into."""
    target = resources.get_resource(
        session, scope=scope, kind=TARGET_CONNECTION_KIND, resource_id=run.target_connection_ids[0]
    )
    return str(target.doc["params"]["dataSetId"])


def resolve_copy_context(core: Core, session: Session, row: Resource, run: Run) -> CopyContext:
    """The connector, dataset and job of a run, read from its flow and connections.

    ``row`` is the run's row, or its flow's (any row of the flow's org and sandbox).
    """
    scope = run_scope(session, row)
    flow = resources.get_resource(session, scope=scope, kind=FLOW_KIND, resource_id=run.flow_id)
    transformations = parse_transformations(flow.doc.get("transformations"))
    source = resources.get_resource(
        session, scope=scope, kind=SOURCE_CONNECTION_KIND, resource_id=run.source_connection_ids[0]
    )
    base = resources.get_resource(
        session,
        scope=scope,
        kind=BASE_CONNECTION_KIND,
        resource_id=source.doc["baseConnectionId"],
    )
    target = resources.get_resource(
        session, scope=scope, kind=TARGET_CONNECTION_KIND, resource_id=run.target_connection_ids[0]
    )
    dataset_row = resources.get_resource(
        session, scope=scope, kind=DATASET_KIND, resource_id=str(target.doc["params"]["dataSetId"])
    )
    cls = require_connector(str(base.spec_id))
    box = core.secret_box
    secrets = [str(v) for v in secret_params(base, box).values()]
    columns = [str(c["name"]) for c in source.doc["params"].get("columns") or () if "name" in c]
    options = flow.doc.get("options") or {}
    connector = cls(auth_params(base, box))
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
        failed_records_retention_days=core.settings.failed_records_retention_days,
    )
    dataset = dataset_of(core.settings, scope, dataset_row)
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
