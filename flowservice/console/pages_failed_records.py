"""A run's failed records, downloaded through the Data Access route with the session's scope.

The browser holds a console session, not a bearer token, so the console calls the API's
own ``GET /data/foundation/export/batches/{id}/failed`` route function and hands its
bytes over: what a session may download is exactly what its token may.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from flowservice.api.routes import data_access
from flowservice.api.routes import runs as run_routes
from flowservice.api.services import failed_records
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import show_page
from flowservice.console.session_store import ConsoleSession
from flowservice.errors import NotFound
from flowservice.store.repos.resources import Scope

router = APIRouter()

NDJSON = "application/x-ndjson"


def run_batch_ids(run: dict[str, Any]) -> list[str]:
    """The batch ids a run's activities name as their targets, in order, once each."""
    found: list[str] = []
    for activity in run.get("activities") or []:
        for target in activity.get("targetInfo") or []:
            reference = target.get("reference") or {}
            if str(reference.get("type", "")).lower() != "batch":
                continue
            found += [str(i) for i in reference.get("ids") or [] if str(i) not in found]
    return found


def _failed_bytes(request: Request, scope: Scope, batch_id: str) -> bytes:
    runtime = runtime_of(request)
    listing = data_access.retrieve_failed_batch(
        batch_id, runtime, scope, limit=failed_records.MAX_PAGE
    )
    content = b""
    for entry in listing["data"]:
        answer = data_access.retrieve_failed_batch(
            batch_id, runtime, scope, limit=failed_records.MAX_PAGE, path=entry["name"]
        )
        content += bytes(answer.body)
    return content


@router.get("/runs/{run_id}/failed-records")
def download_failed_records(request: Request, run_id: str) -> Response:
    def build(_user: ConsoleSession, scope: Scope) -> Response:
        run = run_routes.get_run(run_id, runtime_of(request), scope)["items"][0]
        content = b"".join(_failed_bytes(request, scope, b) for b in run_batch_ids(run))
        if not content:
            raise NotFound(f"The run {run_id} has no failed records to download.")
        disposition = f'attachment; filename="failed-records-{run_id}.ndjson"'
        headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
        return Response(content=content, media_type=NDJSON, headers=headers)

    return show_page(request, build)
