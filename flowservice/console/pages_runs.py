"""Monitoring: a flow's runs (paged, failures only on demand) and one run's detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from flowservice.api.routes import runs as run_routes
from flowservice.api.runtime import Runtime
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import show_page
from flowservice.console.paging import list_params, next_token
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.flows.run_state import RunStatus
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

router = APIRouter()

FLOW_KIND = "flows"


def flow_heading(runtime: Runtime, scope: Scope, flow_id: str) -> dict[str, str]:
    """The flow's id and name, read as ``GET /flows/{id}`` reads the row (NotFound outside
    the scope); not through that route, whose answer reads every run of the flow."""
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=FLOW_KIND, resource_id=flow_id)
        return {"id": row.id, "name": row.name or row.id}


def run_summary(item: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a run's row and detail page, from its API item."""
    metrics = item.get("metrics") or {}
    records = metrics.get("recordSummary") or {}
    duration = metrics.get("durationSummary") or {}
    sizes = metrics.get("sizeSummary") or {}
    status = metrics.get("statusSummary") or {}
    return {
        "id": item["id"],
        "flow_id": item.get("flowId", ""),
        "status": status.get("status") or item.get("state") or "—",
        "created": item.get("createdAt"),
        "started": duration.get("startedAtUTC"),
        "completed": duration.get("completedAtUTC"),
        "received": records.get("inputRecordCount"),
        "written": records.get("outputRecordCount"),
        "failed": records.get("failedRecordCount"),
        "input_bytes": sizes.get("inputBytes"),
        "output_bytes": sizes.get("outputBytes"),
        "errors": [
            {"code": str(e.get("code", "")), "message": str(e.get("message", ""))}
            for e in status.get("errors") or []
            if isinstance(e, dict)
        ],
    }


@router.get("/dataflows/{flow_id}/runs")
def flow_runs(
    request: Request,
    flow_id: str,
    failures: str = "",
    continuationToken: str | None = None,
    started: str = "",
) -> Response:
    runtime = runtime_of(request)
    failures_only = failures == "1"

    def build(user: ConsoleSession, scope: Scope) -> Response:
        flow = flow_heading(runtime, scope, flow_id)
        properties = [f"flowId=={flow_id}"]
        if failures_only:
            properties.append(f"state=={RunStatus.FAILED}")
        page = run_routes.list_runs(
            runtime,
            scope,
            list_params(
                properties=properties, orderby="-createdAt", continuation=continuationToken
            ),
        )
        return render(
            request,
            "runs.html",
            user=user,
            flow=flow,
            runs=[run_summary(item) for item in page["items"]],
            list_path=f"/console/dataflows/{flow_id}/runs",
            failures_only=failures_only,
            next_token=next_token(page),
            notice="A run has started." if started == "1" else "",
        )

    return show_page(request, build)


@router.get("/runs/{run_id}")
def run_detail(request: Request, run_id: str) -> Response:
    runtime = runtime_of(request)

    def build(user: ConsoleSession, scope: Scope) -> Response:
        run = run_summary(run_routes.get_run(run_id, runtime, scope)["items"][0])
        flow = flow_heading(runtime, scope, run["flow_id"])
        return render(
            request,
            "run_detail.html",
            user=user,
            run=run,
            flow=flow,
        )

    return show_page(request, build)
