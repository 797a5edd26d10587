"""Create a dataflow from a table: dataset, mapping, schedule, review, one form per step.

The state between steps is a signed hidden field (``wizard_state``); every POST checks the
session, origin, CSRF token and write access (``act_on_form``), re-reads the table through
the API's explore route, and re-checks the step it receives. Create goes through the API's
own handlers (``wizard_create``), which validate everything once more.
"""

from __future__ import annotations

import time
from typing import Any

from anyio.from_thread import run as run_async
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from flowservice.api.routes import connections as connection_routes
from flowservice.api.routes import explore as explore_routes
from flowservice.console import wizard_create as api
from flowservice.console.access import BAD_FORM, runtime_of
from flowservice.console.page_runner import act_on_form, plain_message, show_page
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.console.wizard_state import (
    DELTA_TYPES,
    FREQUENCIES,
    dataset_choice,
    mappings_of,
    schedule_of,
    schedule_params,
    sign,
    unsign,
    utc_local_text,
)
from flowservice.errors import FlowServiceError, InvalidRequest, PermissionDenied
from flowservice.flows.schedule import parse_schedule
from flowservice.store.repos.resources import Scope

router = APIRouter()
STEPS = ("Dataset", "Mapping", "Schedule", "Review")
BLANK_MAPPING_ROWS = 2
EXACT_COPY_MAPPINGS = (
    "Merge and Change Tracking copy the columns as they are, so they cannot have added "
    "mappings: go back and remove them, or choose append with a delta column or a full copy."
)


def _table(request: Request, scope: Scope, connection_id: str, table: str) -> dict[str, Any]:
    """The account, its spec and the table's columns and Change Tracking, from the API."""
    runtime = runtime_of(request)
    item = connection_routes.get_connection(connection_id, runtime, scope)["items"][0]
    described: dict[str, Any] = run_async(
        lambda: explore_routes.explore_connection(
            connection_id,
            runtime,
            scope,
            object_type="table",
            object_path=table or None,
            preview=False,
            count=0,
            start=0,
            limit=None,
            decimals_as_strings=False,
        )
    )
    columns = []
    for column in described["schema"]["columns"]:
        xdm = column.get("meta:xdmType") or column.get("type") or "string"
        fmt = (
            (column.get("xdm") or {}).get("format") if isinstance(column.get("xdm"), dict) else None
        )
        columns.append({"name": column["name"], "xdm_type": xdm, "xdm_format": fmt})
    tracking = described.get("changeTracking") or {}
    return {
        "account": {"id": item["id"], "name": item.get("name") or item["id"]},
        "spec_id": str((item.get("connectionSpec") or {}).get("id")),
        "columns": columns,
        "primary_key": list(described["schema"].get("primaryKey") or []),
        "delta_columns": [c["name"] for c in columns if c["xdm_type"] in DELTA_TYPES],
        "change_tracking": bool(tracking.get("enabled")),
    }


def _page(
    request: Request,
    user: ConsoleSession,
    scope: Scope,
    source: dict[str, Any],
    state: dict[str, Any],
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    problems: list[str] | None = None,
    checked: bool = False,
    status_code: int = 200,
) -> Response:
    step = int(state["step"])
    context: dict[str, Any] = {}
    if step == 1:
        context["datasets"] = api.dataset_options(runtime_of(request), scope)
    if step == 2:
        rows = list(state.get("mappings") or [])
        context["rows"] = rows + [{"destination": "", "expression": ""}] * BLANK_MAPPING_ROWS
    if step == 3 and "schedule" not in state:
        state = {**state, "schedule": _default_schedule()}
    template = ("wizard_dataset", "wizard_mapping", "wizard_schedule", "wizard_review")[step - 1]
    return render(
        request,
        f"{template}.html",
        user=user,
        status_code=status_code,
        steps=STEPS,
        step=step,
        state=state,
        token=sign(state, user.csrf_token),
        typed=typed or {},
        problem=error,
        problems=problems or [],
        checked=checked,
        frequencies=FREQUENCIES,
        local_start=utc_local_text(int((state.get("schedule") or {}).get("start", time.time()))),
        **source,
        **context,
    )


def _default_schedule() -> dict[str, Any]:
    return {
        "frequency": "once",
        "interval": "",
        "start": int(time.time()),
        "backfill": False,
        "incremental": "full",
        "write_mode": "append",
        "key_columns": [],
        "delete_mode": "hard",
    }


@router.get("/accounts/{connection_id}/dataflow")
def wizard_start(request: Request, connection_id: str, table: str = "") -> Response:
    def build(user: ConsoleSession, scope: Scope) -> Response:
        source = _table(request, scope, connection_id, table)
        state = {"step": 1, "account": connection_id, "table": table, "mappings": []}
        return _page(request, user, scope, source, state)

    return show_page(request, build)


@router.post("/accounts/{connection_id}/dataflow")
async def wizard_step(request: Request, connection_id: str) -> Response:
    runtime = runtime_of(request)

    def act(user: ConsoleSession, scope: Scope, form: dict[str, str]) -> Response:
        state = unsign(form.get("state", ""), user.csrf_token)
        if state.get("account") != connection_id or state.get("step") not in (1, 2, 3, 4):
            raise PermissionDenied(BAD_FORM)
        source = _table(request, scope, connection_id, str(state["table"]))
        action = form.get("action", "next")
        step = int(state["step"])
        if action == "back":
            return _page(request, user, scope, source, {**state, "step": max(1, step - 1)})
        try:
            if step == 1:
                state["flow_name"] = form.get("flow_name", "").strip()[:512]
                if not state["flow_name"]:
                    raise InvalidRequest("Name the dataflow.")
                choice = dataset_choice(form)
                if choice["mode"] == "existing":
                    choice["name"] = api.dataset_name(runtime, scope, choice["id"])
                state["dataset"] = choice
                state["step"] = 2
            elif step == 2:
                state["mappings"] = mappings_of(form)
                problems = api.check_mappings(runtime, scope, source["columns"], state["mappings"])
                if action == "check" or any(problems):
                    status = 400 if any(problems) else 200
                    return _page(
                        request,
                        user,
                        scope,
                        source,
                        state,
                        problems=problems,
                        checked=True,
                        status_code=status,
                    )
                state["step"] = 3
            elif step == 3:
                schedule = schedule_of(
                    form,
                    columns=[c["name"] for c in source["columns"]],
                    primary_key=source["primary_key"],
                    delta_columns=source["delta_columns"],
                    change_tracking=source["change_tracking"],
                )
                state["schedule"] = schedule
                if state["mappings"] and (
                    schedule["write_mode"] == "merge" or schedule["incremental"] == "cdc"
                ):
                    raise InvalidRequest(EXACT_COPY_MAPPINGS)
                parse_schedule(schedule_params(schedule))
                state["step"] = 4
            elif action == "create":
                return _create(user, scope, source, state)
        except FlowServiceError as exc:
            return _page(
                request,
                user,
                scope,
                source,
                state,
                typed=form,
                error=plain_message(exc),
                status_code=exc.status,
            )
        return _page(request, user, scope, source, state)

    def _create(
        user: ConsoleSession, scope: Scope, source: dict[str, Any], state: dict[str, Any]
    ) -> Response:
        if state["dataset"]["mode"] == "existing":  # re-checked: it may have gone since step 1
            api.dataset_name(runtime, scope, state["dataset"]["id"])
        if any(api.check_mappings(runtime, scope, source["columns"], state["mappings"])):
            return _page(
                request,
                user,
                scope,
                source,
                {**state, "step": 2},
                status_code=400,
                error="A mapping has a problem: check it before creating the dataflow.",
            )
        try:
            flow_id = api.create_dataflow(
                runtime, user, scope, {**state, "columns": source["columns"]}, source["spec_id"]
            )
        except api.CreateFailed as failed:
            left = (
                " Left behind (delete them if unwanted): " + ", ".join(failed.left) + "."
                if failed.left
                else " Nothing was left behind."
            )
            return _page(
                request,
                user,
                scope,
                source,
                state,
                status_code=400,
                error=f"The dataflow was not created: {failed.message}{left}",
            )
        return RedirectResponse(f"/console/dataflows/{flow_id}/runs", status_code=303)

    return await act_on_form(request, act)
