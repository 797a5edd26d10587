"""The wizard's API calls: datasets, mapping checks, and Create through the API's own handlers.

Create makes, in order, the dataset (if new), the source connection, the target connection,
the mapping set (if any expression was added) and the flow. When a step fails, what this
submit made is deleted again, best effort and newest first; a mapping set (the API has no
delete for it) and anything whose delete failed are named in the message instead.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Response

from flowservice.api.routes import datasets as dataset_routes
from flowservice.api.routes import flows as flow_routes
from flowservice.api.routes import mapping_sets as mapping_routes
from flowservice.api.runtime import Runtime
from flowservice.api.services import source_connections, target_connections
from flowservice.console.page_runner import plain_message
from flowservice.console.session_store import ConsoleSession
from flowservice.console.wizard_state import schedule_params, target_params
from flowservice.errors import FlowServiceError
from flowservice.flows.flow_spec import CRM_TO_AEP_ID, DATA_LAKE_SPEC_ID
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

log = logging.getLogger(__name__)
DATASET_CHOICES = "100"  # the select lists the sandbox's first 100 datasets, by name


class CreateFailed(Exception):
    """A Create step failed: the API's message and what was cleaned up or left behind."""

    def __init__(self, message: str, left: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.left = left


def dataset_options(runtime: Runtime, scope: Scope) -> list[dict[str, str]]:
    """The sandbox's datasets through the API's ``GET /dataSets`` route function."""
    page = dataset_routes.list_datasets(
        runtime, scope, limit=DATASET_CHOICES, order_by="asc:name", properties="name"
    )
    return [{"id": key, "name": str(item.get("name") or key)} for key, item in page.items()]


def dataset_name(runtime: Runtime, scope: Scope, dataset_id: str) -> str:
    """The name of a dataset of this scope (the API's not-found error otherwise)."""
    answer = dataset_routes.get_dataset(dataset_id, runtime, scope, properties="name")
    item = answer.get(dataset_id) or {}
    return str(item.get("name") or dataset_id)


def mapping_rules(columns: list[dict[str, Any]], added: list[dict[str, str]]) -> list[Any]:
    """Every column as is, then the added expressions."""
    rules = [{"sourceAttribute": c["name"], "destinationXdmPath": c["name"]} for c in columns]
    rules += [
        {"sourceAttribute": m["expression"], "destinationXdmPath": m["destination"]} for m in added
    ]
    return rules


def input_schema(columns: list[dict[str, Any]]) -> dict[str, Any]:
    fields = []
    for column in columns:
        field: dict[str, Any] = {"name": column["name"], "type": column["xdm_type"]}
        if column.get("xdm_format"):
            field["format"] = column["xdm_format"]
        fields.append(field)
    return {"fields": fields}


def check_mappings(
    runtime: Runtime, scope: Scope, columns: list[dict[str, Any]], added: list[dict[str, str]]
) -> list[str]:
    """One problem text per added mapping ("" when fine), from the API's validate route."""
    body = {"inputSchema": input_schema(columns), "mappings": mapping_rules(columns, added)}
    entries = mapping_routes.validate_mapping_set(runtime, scope, body)["validationResponse"]
    problems = []
    for entry in entries[len(columns) :]:
        reasons = [str(e.get("exception") or "") for e in entry.get("errors") or []]
        problems.append("; ".join(r for r in reasons if r) if entry["status"] != "SUCCESS" else "")
    while len(problems) < len(added):
        problems.append("")
    extra = problems[len(added) :]
    problems = problems[: len(added)]
    if any(extra) and problems:  # problems of the set as a whole go with the last row
        problems[-1] = "; ".join(p for p in [problems[-1], *extra] if p)
    return problems


def create_dataflow(
    runtime: Runtime, user: ConsoleSession, scope: Scope, state: dict[str, Any], spec_id: str
) -> str:
    """The new flow's id; raises :class:`CreateFailed` after cleaning up."""
    made: list[tuple[str, str]] = []
    table, schedule = str(state["table"]), state["schedule"]
    try:
        dataset = state["dataset"]
        if dataset["mode"] == "new":
            body = {"name": dataset["name"], "description": dataset["description"] or None}
            ref = dataset_routes.create_dataset(runtime, user.caller, scope, body, Response())
            dataset_id = ref[0].removeprefix("@/dataSets/")
            made.append(("dataset", dataset_id))
        else:
            dataset_id = dataset["id"]
        incremental = str(schedule["incremental"])
        source_params: dict[str, Any] = {"tableName": table}
        if incremental == "cdc":
            source_params["cdcEnabled"] = True
        source = _connection(
            runtime,
            scope,
            source_connections,
            {
                "name": f"{state['flow_name']} source",
                "baseConnectionId": state["account"],
                "data": {"format": "tabular"},
                "params": source_params,
                "connectionSpec": {"id": spec_id, "version": "1.0"},
            },
        )
        made.append(("source connection", source))
        target = _connection(
            runtime,
            scope,
            target_connections,
            {
                "name": f"{state['flow_name']} target",
                "data": {"format": "parquet_xdm"},
                "params": target_params(dataset_id, schedule),
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            },
        )
        made.append(("target connection", target))
        copy: dict[str, Any] = {"name": "Copy", "params": {}}
        if incremental.startswith("delta:"):
            copy["params"]["deltaColumn"] = {"name": incremental.removeprefix("delta:")}
        transformations = [copy]
        if state["mappings"]:
            body = {
                "sourceConnectionId": source,
                "dataSetId": dataset_id,
                "inputSchema": input_schema(state["columns"]),
                "mappings": mapping_rules(state["columns"], state["mappings"]),
            }
            mapping = mapping_routes.create_mapping_set(runtime, user.caller, scope, body)
            made.append(("mapping set", str(mapping["id"])))
            transformations.append(
                {
                    "name": "Mapping",
                    "params": {"mappingId": mapping["id"], "mappingVersion": mapping["version"]},
                }
            )
        flow = flow_routes.create_flow(
            runtime,
            user.caller,
            scope,
            {
                "name": state["flow_name"],
                "flowSpec": {"id": CRM_TO_AEP_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": transformations,
                "scheduleParams": schedule_params(schedule),
            },
            Response(),
        )
        return str(flow["id"])
    except FlowServiceError as exc:
        raise CreateFailed(plain_message(exc), _undo(runtime, user, scope, made)) from exc


def _connection(runtime: Runtime, scope: Scope, service: Any, body: dict[str, Any]) -> str:
    with runtime.transaction() as session:
        return str(service.create(session, runtime, scope, body).id)


def _undo(
    runtime: Runtime, user: ConsoleSession, scope: Scope, made: list[tuple[str, str]]
) -> list[str]:
    """Delete what this submit made, newest first; the ones left behind, in words."""
    left = []
    services = {"source connection": source_connections, "target connection": target_connections}
    for what, made_id in reversed(made):
        try:
            if what == "dataset":
                dataset_routes.delete_dataset(made_id, runtime, user.caller, scope)
            elif what in services:
                service: Any = services[what]
                with runtime.transaction() as session:
                    row = resources.get_resource(
                        session, scope=scope, kind=service.KIND, resource_id=made_id
                    )
                    service.delete(session, scope, row)
            else:
                left.append(f"{what} {made_id}")
        except Exception:
            log.exception("console wizard could not delete %s %s", what, made_id)
            left.append(f"{what} {made_id}")
    return left
