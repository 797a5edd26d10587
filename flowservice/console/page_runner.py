"""The two shapes of a console handler: show a page, or act on a POSTed form.

Both resolve the session (no session: the sign-in page, or a 403 for a form),
and turn errors into a page that says in plain words what went wrong; a bug
is logged with its traceback and shown as one sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from flowservice.console.access import (
    check_csrf,
    check_origin,
    current_session,
    read_form,
    require_write,
    runtime_of,
    scope_of,
)
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.errors import FlowServiceError
from flowservice.secrets import redact
from flowservice.store.repos.resources import Scope

log = logging.getLogger(__name__)

SIGN_IN_PATH = "/console/sign-in"
NOT_SIGNED_IN = "You are not signed in to the console (or your session has ended)."
UNEXPECTED = "Something went wrong on the server; the details are in the server's log."

PageBuilder = Callable[[ConsoleSession, Scope], Response]
FormAction = Callable[[ConsoleSession, Scope, dict[str, str]], Response]
ErrorPage = Callable[[ConsoleSession, Scope, str, int], Response]


def plain_message(exc: FlowServiceError) -> str:
    return redact(exc.message) if isinstance(exc.message, str) else str(exc.message)


def error_page(
    request: Request, user: ConsoleSession | None, message: str, status_code: int
) -> Response:
    return render(request, "error.html", user=user, status_code=status_code, message=message)


def show_page(request: Request, build: PageBuilder) -> Response:
    """Render a page for the signed-in user; anyone else goes to the sign-in page."""
    runtime = runtime_of(request)
    user = current_session(request, runtime)
    if user is None:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    try:
        return build(user, scope_of(runtime, user))
    except FlowServiceError as exc:
        return error_page(request, user, plain_message(exc), exc.status)
    except Exception:
        log.exception("console page %s failed", request.url.path)
        return error_page(request, user, UNEXPECTED, 500)


async def act_on_form(
    request: Request, act: FormAction, *, on_error: ErrorPage | None = None
) -> Response:
    """Check session, origin, CSRF token and write access, then run ``act`` off the loop."""
    runtime = runtime_of(request)
    user = await run_in_threadpool(current_session, request, runtime)
    if user is None:
        return error_page(request, None, NOT_SIGNED_IN, 403)
    try:
        check_origin(request)
        form = await read_form(request)
        check_csrf(user.csrf_token, form)
        require_write(user)
        scope = await run_in_threadpool(scope_of, runtime, user)
    except FlowServiceError as exc:
        return error_page(request, user, plain_message(exc), exc.status)
    try:
        return await run_in_threadpool(act, user, scope, form)
    except FlowServiceError as exc:
        if on_error is not None:
            return await run_in_threadpool(_shown_in_place, request, on_error, user, scope, exc)
        return error_page(request, user, plain_message(exc), exc.status)
    except Exception:
        log.exception("console action %s failed", request.url.path)
        return error_page(request, user, UNEXPECTED, 500)


def _shown_in_place(
    request: Request, on_error: ErrorPage, user: ConsoleSession, scope: Scope, exc: Any
) -> Response:
    try:
        return on_error(user, scope, plain_message(exc), exc.status)
    except FlowServiceError as again:
        return error_page(request, user, plain_message(again), again.status)
