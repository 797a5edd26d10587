"""Dataflows: the paged list with state, schedule and last run, and its actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from flowservice.api.routes import flows as flow_routes
from flowservice.api.routes import runs as run_routes
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import act_on_form, show_page
from flowservice.console.paging import list_params, next_token
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.errors import InvalidRequest
from flowservice.store.repos.resources import Scope

router = APIRouter()

LIST_PATH = "/console/dataflows"


def schedule_text(params: Any) -> str:
    """``every 15 minutes`` from a flow's scheduleParams; ``on demand`` without one."""
    if not isinstance(params, dict) or not params.get("frequency"):
        return "on demand"
    frequency = str(params["frequency"])
    if frequency == "once":
        return "once"
    interval = str(params.get("interval") or "1")
    unit = frequency if interval == "1" else f"{frequency}s"
    return f"every {unit}" if interval == "1" else f"every {interval} {unit}"


def _flow_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        last = item.get("lastRunDetails") or {}
        rows.append(
            {
                "id": item["id"],
                "name": item.get("name") or item["id"],
                "state": item.get("state") or "—",
                "schedule": schedule_text(item.get("scheduleParams")),
                "last_status": last.get("state") or "never run",
                "last_time": last.get("completedAtUTC") or last.get("startedAtUTC"),
            }
        )
    return rows


def _flows_page(
    request: Request,
    user: ConsoleSession,
    scope: Scope,
    *,
    continuation: str | None = None,
    error: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response:
    page = flow_routes.list_flows(
        runtime_of(request), scope, list_params(continuation=continuation, orderby="name")
    )
    return render(
        request,
        "dataflows.html",
        user=user,
        status_code=status_code,
        flows=_flow_rows(page["items"]),
        list_path=LIST_PATH,
        next_token=next_token(page),
        error=error,
        notice=notice,
    )


@router.get("/dataflows")
def dataflows(request: Request, continuationToken: str | None = None, done: str = "") -> Response:
    return show_page(
        request,
        lambda user, scope: _flows_page(
            request, user, scope, continuation=continuationToken, notice=NOTICES.get(done, "")
        ),
    )


NOTICES = {
    "enable": "The dataflow is enabled.",
    "disable": "The dataflow is disabled; its waiting runs are cancelled.",
    "run": "A run has started.",
    "delete": "The dataflow is deleted.",
}


def _perform(
    request: Request, action: str, flow_id: str, user: ConsoleSession, scope: Scope
) -> None:
    """The API's own handler of the action, with the session's caller and scope."""
    runtime = runtime_of(request)
    if action in ("enable", "disable"):
        flow_routes.flow_action(flow_id, runtime, user.caller, scope, action)
    elif action == "run":
        run_routes.create_run(request, runtime, user.caller, scope, {"flowId": flow_id}, Response())
    elif action == "delete":
        flow_routes.delete_flow(flow_id, request, runtime, user.caller, scope)
    else:
        raise InvalidRequest(f"Unknown action {action!r}.")


@router.post("/dataflows/{flow_id}/{action}")
async def dataflow_action(request: Request, flow_id: str, action: str) -> Response:
    def act(user: ConsoleSession, scope: Scope, _form: dict[str, str]) -> Response:
        _perform(request, action, flow_id, user, scope)
        if action == "run":
            return RedirectResponse(f"/console/dataflows/{flow_id}/runs?started=1", status_code=303)
        return RedirectResponse(f"{LIST_PATH}?done={action}", status_code=303)

    def shown(user: ConsoleSession, scope: Scope, message: str, status_code: int) -> Response:
        return _flows_page(request, user, scope, error=message, status_code=status_code)

    return await act_on_form(request, act, on_error=shown)
