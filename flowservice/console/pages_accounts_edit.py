"""Edit an account's name and description through the API's own PATCH handler.

The form carries the etag of the read it was built from, so a change made meanwhile
is refused by the API (412) rather than overwritten. Secrets are not edited here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from flowservice.api.routes import connections as connection_routes
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import act_on_form, show_page
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.errors import InvalidRequest, PreconditionFailed
from flowservice.store.repos.resources import Scope

router = APIRouter()

STALE = (
    "The account was changed by someone else after this form was opened, so your edit "
    "was not saved. The form now shows the current values; make your change again."
)


def _account(request: Request, scope: Scope, account_id: str) -> dict[str, Any]:
    answer = connection_routes.get_connection(account_id, runtime_of(request), scope)
    item: dict[str, Any] = answer["items"][0]
    return item


def _edit_page(
    request: Request,
    user: ConsoleSession,
    scope: Scope,
    account_id: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    item = _account(request, scope, account_id)
    return render(
        request,
        "account_edit.html",
        user=user,
        status_code=status_code,
        account={
            "id": item["id"],
            "name": item.get("name") or "",
            "description": item.get("description") or "",
            "etag": item.get("etag") or "",
        },
        error=error,
    )


def patch_operations(current: dict[str, Any], name: str, description: str) -> list[Any]:
    """JSON Patch operations that set the name and the (possibly emptied) description."""
    operations: list[Any] = [{"op": "replace", "path": "/name", "value": name}]
    if description:
        operations.append({"op": "add", "path": "/description", "value": description})
    elif current.get("description") is not None:
        operations.append({"op": "remove", "path": "/description"})
    return operations


@router.get("/accounts/{account_id}/edit")
def edit_account(request: Request, account_id: str) -> Response:
    return show_page(request, lambda user, scope: _edit_page(request, user, scope, account_id))


@router.post("/accounts/{account_id}/edit")
async def save_account(request: Request, account_id: str) -> Response:
    def act(user: ConsoleSession, scope: Scope, form: dict[str, str]) -> Response:
        name = form.get("name", "").strip()
        if not name:
            raise InvalidRequest("The account needs a name.")
        current = _account(request, scope, account_id)
        connection_routes.patch_connection(
            account_id,
            runtime_of(request),
            user.caller,
            scope,
            patch_operations(current, name, form.get("description", "").strip()),
            form.get("etag", ""),
        )
        return RedirectResponse("/console/accounts", status_code=303)

    def shown(user: ConsoleSession, scope: Scope, message: str, status_code: int) -> Response:
        if status_code == PreconditionFailed.status:
            message = f"{STALE} ({message})"
        return _edit_page(request, user, scope, account_id, error=message, status_code=status_code)

    return await act_on_form(request, act, on_error=shown)
