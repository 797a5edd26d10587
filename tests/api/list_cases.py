"""Rows of every Flow Service list kind written straight into the store, and their wire items.

The list tests compare the SQL-backed lists of the real app with
``listing.select_page`` (the in-Python reference) over the same rows' wire
items, so rows here get chosen times (ties included), NULL names, text beyond
ASCII and runs whose record times differ from the rows' insert times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from service_harness import DATA_LAKE_SPEC_ID, FLOW_SPEC_ID, SQLSERVER_SPEC_ID
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from flowservice.api.runtime import Runtime
from flowservice.api.services import (
    connections,
    flows,
    runs,
    source_connections,
    target_connections,
)
from flowservice.flows.persistence.runs import insert_run
from flowservice.flows.run_state import RecordCounts, Run, RunStatus
from flowservice.flows.schedule import EPOCH
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

BASE_MS = 1_700_000_000_000
# a scheduled run starts when due: the test server's engine must not run (and change) these
NEVER = EPOCH + timedelta(days=365 * 100)
# no comma (it separates OR values) and no quotes (stripped from filter literals)
NAME_TEXT = st.text(alphabet="aAbBzZ09-_ .éÉßİΣ", max_size=4)
SPEC_IDS = (SQLSERVER_SPEC_ID, "aaaaaaaa-0000-0000-0000-000000000000")
PARENT_IDS = ("p-1", "p-2", "P-3")
# not inProgress: the test server's scheduler requeues those (no worker holds their lease)
STATUSES = [s for s in RunStatus if s is not RunStatus.IN_PROGRESS]


@dataclass(frozen=True)
class RowSpec:
    """What one generated row holds; each kind uses the fields it has."""

    name: str | None
    state: str
    created: int  # ms after BASE_MS; few distinct values, so times tie
    updated: int
    spec: str
    parent: str | None
    table: str
    status: RunStatus
    records: int
    runs: tuple[tuple[int, RunStatus], ...] = ()  # a flow's runs: creation (us), status
    author: str = "a@AdobeID"


def row(**fields: Any) -> RowSpec:
    """A row spec with plain values, ``fields`` changed."""
    plain: dict[str, Any] = {
        "name": "row",
        "state": "enabled",
        "created": 0,
        "updated": 0,
        "spec": SQLSERVER_SPEC_ID,
        "parent": None,
        "table": "dbo.a",
        "status": RunStatus.SUCCESS,
        "records": 7,
    }
    return RowSpec(**(plain | fields))


ROWS = st.builds(
    RowSpec,
    name=st.none() | NAME_TEXT,
    state=st.sampled_from(["enabled", "disabled", "Enabled"]),
    created=st.sampled_from([0, 0, 1, 2, 1000, 86_400_000]),
    updated=st.sampled_from([0, 5, 10**6]),
    spec=st.sampled_from(SPEC_IDS),
    parent=st.none() | st.sampled_from(PARENT_IDS),
    table=st.sampled_from(["dbo.a", "dbo.B", "sales.c"]),
    status=st.sampled_from(STATUSES),
    records=st.sampled_from([0, 7, 1000]),
    runs=st.lists(
        st.tuples(st.sampled_from([0, 999, 1000, 1500, 2_000_000]), st.sampled_from(STATUSES)),
        max_size=2,
    ).map(tuple),
    author=st.sampled_from(["a@AdobeID", "B@AdobeID", "ä@AdobeID"]),
)

Insert = Callable[[Session, Scope, RowSpec, str], Resource]
Wire = Callable[[Runtime, Session, Scope, list[Resource]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    kind: str
    path: str
    filterable: frozenset[str]
    insert: Insert
    wire: Wire


def _stamp(session: Session, row: Resource, spec: RowSpec) -> Resource:
    session.execute(
        update(Resource)
        .where(Resource.id == row.id)
        .values(
            created_at=BASE_MS + spec.created,
            updated_at=BASE_MS + spec.created + spec.updated,
            created_by=spec.author,
        )
        .execution_options(synchronize_session=False)
    )
    return row


def _connection(session: Session, scope: Scope, spec: RowSpec, row_id: str) -> Resource:
    doc = {
        "description": spec.table if spec.records else None,
        "connectionSpec": {"id": spec.spec, "version": "1.0"},
        "auth": {"specName": "Connection String Based Authentication", "params": {}, "order": []},
    }
    row = resources.insert_resource(
        session,
        scope=scope,
        kind=connections.KIND,
        doc=doc,
        name=spec.name,
        state=spec.state,
        spec_id=spec.spec,
        resource_id=row_id,
    )
    return _stamp(session, row, spec)


def _source(session: Session, scope: Scope, spec: RowSpec, row_id: str) -> Resource:
    base = spec.parent or PARENT_IDS[0]
    doc = {
        "description": None,
        "baseConnectionId": base,
        "baseConnectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        "data": {"format": "tabular"},
        "params": {"tableName": spec.table, "columns": [{"name": spec.table[-1]}]},
        "connectionSpec": {"id": spec.spec, "version": "1.0"},
    }
    row = resources.insert_resource(
        session,
        scope=scope,
        kind=source_connections.KIND,
        doc=doc,
        name=spec.name,
        state=spec.state,
        spec_id=spec.spec,
        parent_id=base,
        resource_id=row_id,
    )
    return _stamp(session, row, spec)


def _target(session: Session, scope: Scope, spec: RowSpec, row_id: str) -> Resource:
    doc = {
        "description": None,
        "baseConnectionId": spec.parent,
        "baseConnectionSpec": None,
        "data": {"format": "parquet_xdm"},
        "params": {"dataSetId": spec.table},
        "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
        "providerRefId": None,
    }
    row = resources.insert_resource(
        session,
        scope=scope,
        kind=target_connections.KIND,
        doc=doc,
        name=spec.name,
        state=spec.state,
        spec_id=DATA_LAKE_SPEC_ID,
        parent_id=spec.parent,
        resource_id=row_id,
    )
    return _stamp(session, row, spec)


def _run(
    run_id: str, flow_id: str, spec_id: str, created_us: int, status: RunStatus, records: int
) -> Run:
    created = EPOCH + timedelta(microseconds=created_us)
    return Run(
        id=run_id,
        flow_id=flow_id,
        flow_spec_id=spec_id,
        flow_spec_version="1.0",
        created_at=created,
        updated_at=created + timedelta(milliseconds=records),
        status=status,
        counts=RecordCounts(input_records=records),
    )


def _flow(session: Session, scope: Scope, spec: RowSpec, row_id: str) -> Resource:
    doc = {
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [spec.parent or "none"],
        "targetConnectionIds": [],
        # far ahead: the test server's scheduler must not run these flows meanwhile
        "scheduleParams": {"frequency": "once", "startTime": 4_000_000_000},
        "transformations": [],
        "options": {},
    }
    row = resources.insert_resource(
        session,
        scope=scope,
        kind=flows.KIND,
        doc=doc,
        name=spec.name,
        state=spec.state,
        spec_id=FLOW_SPEC_ID,
        resource_id=row_id,
    )
    for index, (offset, status) in enumerate(spec.runs):
        created_us = BASE_MS * 1000 + offset
        run = _run(f"{row_id}-{index}", row.id, FLOW_SPEC_ID, created_us, status, spec.records)
        insert_run(session, scope=scope, run=run, start_at=NEVER)
    return _stamp(session, row, spec)


def _run_row(session: Session, scope: Scope, spec: RowSpec, row_id: str) -> Resource:
    # microseconds apart from the row's insert time, and ties within a millisecond
    created_us = (BASE_MS + spec.created) * 1000 + spec.updated % 1000 + len(spec.table)
    run = _run(row_id, spec.parent or "p-0", spec.spec, created_us, spec.status, spec.records)
    return insert_run(session, scope=scope, run=run, start_at=NEVER)


def _connections_wire(
    runtime: Runtime, _session: Session, scope: Scope, rows: list[Resource]
) -> list[dict[str, Any]]:
    return [connections.to_wire(row, scope, runtime.secret_box) for row in rows]


def _plain_wire(to_wire: Callable[[Resource, Scope], dict[str, Any]]) -> Wire:
    def wire(
        _runtime: Runtime, _session: Session, scope: Scope, rows: list[Resource]
    ) -> list[dict[str, Any]]:
        return [to_wire(row, scope) for row in rows]

    return wire


def _flows_wire(
    _runtime: Runtime, session: Session, scope: Scope, rows: list[Resource]
) -> list[dict[str, Any]]:
    # the service's own last_runs (every run read), not the list's newest-millisecond read
    last = flows.last_runs(session, scope, [row.id for row in rows])
    return [flows.to_wire(session, row, scope, last.get(row.id)) for row in rows]


CASES = {
    case.kind: case
    for case in (
        Case(
            connections.KIND, "/connections", connections.FILTERABLE, _connection, _connections_wire
        ),
        Case(
            source_connections.KIND,
            "/sourceConnections",
            source_connections.FILTERABLE,
            _source,
            _plain_wire(source_connections.to_wire),
        ),
        Case(
            target_connections.KIND,
            "/targetConnections",
            target_connections.FILTERABLE,
            _target,
            _plain_wire(target_connections.to_wire),
        ),
        Case(flows.KIND, "/flows", flows.FILTERABLE, _flow, _flows_wire),
        Case(runs.KIND, "/runs", runs.FILTERABLE, _run_row, _plain_wire(runs.to_wire)),
    )
}


def insert_rows(
    runtime: Runtime, scope: Scope, case: Case, specs: list[RowSpec], *, prefix: str = ""
) -> None:
    """The rows, with ids ``prefix`` + a number, that sort as the specs come (so hypothesis
    replays an example exactly; ``remove_rows`` frees the ids afterwards)."""
    with runtime.transaction() as session:
        for index, spec in enumerate(specs):
            case.insert(session, scope, spec, f"{prefix}{case.kind[0]}{index:03d}")


def remove_rows(runtime: Runtime, scope: Scope) -> None:
    """Every row of the scope, whatever its kind."""
    with runtime.transaction() as session:
        session.execute(
            delete(Resource).where(
                Resource.org_id == scope.org_id, Resource.sandbox_id == scope.sandbox_id
            )
        )


def wire_items(runtime: Runtime, scope: Scope, case: Case) -> list[dict[str, Any]]:
    """Every row of the case's kind in the scope, as its wire item (the reference's input)."""
    with runtime.transaction() as session:
        rows = resources.list_resources(session, scope=scope, kind=case.kind)
        return case.wire(runtime, session, scope, rows)
