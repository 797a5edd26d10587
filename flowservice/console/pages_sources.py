"""Sources catalog (installed connection specs) and Accounts (base connections)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from flowservice.api.routes import connections as connection_routes
from flowservice.console.access import runtime_of
from flowservice.console.account_usage import flows_using_connection
from flowservice.console.page_runner import act_on_form, show_page
from flowservice.console.paging import list_params, next_token
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.errors import Conflict
from flowservice.store.repos import connection_tests
from flowservice.store.repos.resources import Scope

router = APIRouter()

IN_USE = 1418


@router.get("/sources")
def sources_catalog(request: Request) -> Response:
    runtime = runtime_of(request)

    def build(user: ConsoleSession, scope: Scope) -> Response:
        specs: list[dict[str, Any]] = []
        for spec in runtime.specs.all():
            doc = spec.doc
            counted = connection_routes.list_connections(
                runtime,
                scope,
                list_params(properties=[f"connectionSpec.id=={doc['id']}"], count=True),
            )
            attributes = doc.get("attributes") or {}
            specs.append(
                {
                    "id": doc["id"],
                    "name": doc.get("name") or doc["id"],
                    "category": attributes.get("category") or "—",
                    "direction": "Source" if attributes.get("isSource") else "Destination",
                    "version": doc.get("version") or "",
                    "accounts": int(counted.get("count", 0)),
                }
            )
        specs.sort(key=lambda s: (s["direction"], s["name"].lower()))
        return render(request, "sources.html", user=user, specs=specs)

    return show_page(request, build)


def _accounts_page(
    request: Request,
    user: ConsoleSession,
    scope: Scope,
    *,
    continuation: str | None = None,
    error: str = "",
    blocking_flows: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(request)
    page = connection_routes.list_connections(
        runtime, scope, list_params(continuation=continuation, orderby="name")
    )
    spec_names = {
        spec.doc["id"]: spec.doc.get("name", spec.doc["id"]) for spec in runtime.specs.all()
    }
    with runtime.transaction() as session:  # the ids come from this scope's own listing
        tests = connection_tests.last_tests(session, [item["id"] for item in page["items"]])
    accounts = [
        {
            "id": item["id"],
            "name": item.get("name") or item["id"],
            "spec": spec_names.get(item.get("connectionSpec", {}).get("id"), "unknown"),
            "state": item.get("state") or "—",
            "created": item.get("createdAt"),
            "test": tests.get(item["id"]),
        }
        for item in page["items"]
    ]
    return render(
        request,
        "accounts.html",
        user=user,
        status_code=status_code,
        accounts=accounts,
        list_path="/console/accounts",
        next_token=next_token(page),
        error=error,
        blocking_flows=blocking_flows or [],
    )


@router.get("/accounts")
def accounts(request: Request, continuationToken: str | None = None) -> Response:
    return show_page(
        request,
        lambda user, scope: _accounts_page(request, user, scope, continuation=continuationToken),
    )


@router.post("/accounts/{connection_id}/delete")
async def delete_account(request: Request, connection_id: str) -> Response:
    runtime = runtime_of(request)

    def act(user: ConsoleSession, scope: Scope, _form: dict[str, str]) -> Response:
        try:
            connection_routes.delete_connection(connection_id, runtime, user.caller, scope)
        except Conflict as exc:
            if exc.code != IN_USE:
                raise
            with runtime.transaction() as session:
                names = flows_using_connection(session, scope, connection_id)
            message = "This account cannot be deleted: dataflows still use it. Delete them first."
            return _accounts_page(
                request,
                user,
                scope,
                error=message,
                blocking_flows=names,
                status_code=exc.status,
            )
        return RedirectResponse("/console/accounts", status_code=303)

    def shown(user: ConsoleSession, scope: Scope, message: str, status_code: int) -> Response:
        return _accounts_page(request, user, scope, error=message, status_code=status_code)

    return await act_on_form(request, act, on_error=shown)
