"""Settings: the session's sandbox and expiry, and the sandbox's alert subscriptions.

Sandboxes are listed by the sandbox API's own handler; subscriptions are made
and listed by the alerts service and routes. A new subscription's secret is
shown once, in the answer to the form that made it, and never read again.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from flowservice.alerts.kinds import DEFAULT_DELAY_MINUTES, DEFAULT_ERROR_RATE_PERCENT, AlertKind
from flowservice.api.routes import alerts as alert_routes
from flowservice.api.routes import sandboxes as sandbox_routes
from flowservice.api.services import alerts as alert_service
from flowservice.console.access import SESSION_COOKIE, runtime_of, scope_of
from flowservice.console.page_runner import ErrorPage, act_on_form, plain_message, show_page
from flowservice.console.paging import list_params, next_token
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession, switch_sandbox
from flowservice.errors import FlowServiceError, InvalidRequest
from flowservice.store.repos.resources import Scope

router = APIRouter()

SETTINGS_PATH = "/console/settings"
KIND_LABELS: dict[str, str] = {
    AlertKind.START: "A run starts",
    AlertKind.SUCCESS: "A run succeeds",
    AlertKind.FAILURE: "A run fails",
    AlertKind.DELAY: "A run is still in progress after the delay",
    AlertKind.ERROR_RATE: "A run's failed records exceed the error rate",
}
NOTICES = {
    "sandbox": "You are now working in this sandbox.",
    "deleted": "The alert subscription is deleted.",
}
DEFAULT_DRAFT = {
    "delay": f"{DEFAULT_DELAY_MINUTES:g}",
    "rate": f"{DEFAULT_ERROR_RATE_PERCENT:g}",
    **{f"kind_{k.value}": "on" for k in AlertKind},
}


def _subscription_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the list shows of each subscription (the API's view holds no secret)."""
    return [
        {
            "id": item["id"],
            "name": item.get("name") or item["id"],
            "url": item["url"],
            "kinds": [KIND_LABELS.get(k, k) for k in item["kinds"]],
            "delay": f"{item['delayMinutes']:g}",
            "rate": f"{item['errorRatePercent']:g}",
            "state": item["state"],
        }
        for item in items
    ]


def settings_page(
    request: Request,
    user: ConsoleSession,
    scope: Scope,
    *,
    continuation: str | None = None,
    error: str = "",
    notice: str = "",
    new_secret: str = "",
    draft: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(request)
    sandboxes = sandbox_routes.list_sandboxes(runtime, user.caller)["sandboxes"]
    page = alert_routes.list_subscriptions(
        runtime, scope, list_params(orderby="name", continuation=continuation)
    )
    return render(
        request,
        "settings.html",
        user=user,
        status_code=status_code,
        sandboxes=sandboxes,
        expires_at_ms=user.expires_at * 1000,
        minutes_left=max(0, (user.expires_at - int(time.time())) // 60),
        subscriptions=_subscription_rows(page["items"]),
        list_path=SETTINGS_PATH,
        next_token=next_token(page),
        kinds=list(KIND_LABELS.items()),
        draft=draft if draft is not None else DEFAULT_DRAFT,
        new_secret=new_secret,
        error=error,
        notice=notice,
    )


@router.get("/settings")
def settings(request: Request, continuationToken: str | None = None, done: str = "") -> Response:
    return show_page(
        request,
        lambda user, scope: settings_page(
            request, user, scope, continuation=continuationToken, notice=NOTICES.get(done, "")
        ),
    )


def _shown_in_place(request: Request) -> ErrorPage:
    def shown(user: ConsoleSession, scope: Scope, message: str, status_code: int) -> Response:
        return settings_page(request, user, scope, error=message, status_code=status_code)

    return shown


@router.post("/settings/sandbox")
async def change_sandbox(request: Request) -> Response:
    def act(user: ConsoleSession, _scope: Scope, form: dict[str, str]) -> Response:
        runtime = runtime_of(request)
        name = form.get("sandbox", "").strip().lower()
        # the API's own check: NotFound when the org has no such sandbox
        scope_of(runtime, ConsoleSession(user.caller, name, "", user.expires_at))
        with runtime.transaction() as session:
            secret = request.cookies.get(SESSION_COOKIE, "")
            switch_sandbox(session, secret=secret, sandbox_name=name)
        return RedirectResponse(f"{SETTINGS_PATH}?done=sandbox", status_code=303)

    return await act_on_form(request, act, on_error=_shown_in_place(request))


def _number(form: dict[str, str], field: str, label: str) -> float:
    try:
        return float(form.get(field, "").strip())
    except ValueError:
        raise InvalidRequest(f"{label} must be a number.") from None


def subscription_body(form: dict[str, str]) -> dict[str, Any]:
    """The API's create body from the form (one checkbox per kind)."""
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "url": form.get("url", "").strip(),
        "kinds": [k.value for k in AlertKind if form.get(f"kind_{k.value}") == "on"],
        "delayMinutes": _number(form, "delay", "The delay"),
        "errorRatePercent": _number(form, "rate", "The error rate"),
    }
    if not body["kinds"]:
        raise InvalidRequest("Choose at least one event to be alerted about.")
    return body


@router.post("/settings/alerts")
async def create_subscription(request: Request) -> Response:
    def act(user: ConsoleSession, scope: Scope, form: dict[str, str]) -> Response:
        runtime = runtime_of(request)
        try:
            body = subscription_body(form)
            with runtime.transaction() as session:
                _row, secret = alert_service.create(session, runtime.secret_box, scope, body)
        except FlowServiceError as exc:
            draft = {k: v for k, v in form.items() if k != "csrf"}
            return settings_page(
                request, user, scope, error=plain_message(exc), draft=draft, status_code=exc.status
            )
        return settings_page(
            request,
            user,
            scope,
            notice=f"The alert subscription {body['name']} is created.",
            new_secret=secret,
        )

    return await act_on_form(request, act, on_error=_shown_in_place(request))


@router.post("/settings/alerts/{subscription_id}/delete")
async def delete_subscription(request: Request, subscription_id: str) -> Response:
    def act(user: ConsoleSession, scope: Scope, _form: dict[str, str]) -> Response:
        alert_routes.delete_subscription(subscription_id, runtime_of(request), user.caller, scope)
        return RedirectResponse(f"{SETTINGS_PATH}?done=deleted", status_code=303)

    return await act_on_form(request, act, on_error=_shown_in_place(request))
