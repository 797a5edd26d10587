"""Who a console request is: the session cookie, the caller and scope it stands for, CSRF.

The cookie holds only a random secret (HttpOnly, SameSite=Strict, Secure over
TLS); the session row says who it acts as. The caller and scope are built by
the API's own dependencies (``get_caller``, ``get_scope``), so a console page
sees exactly what the same token sees through the API.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import parse_qsl

from fastapi import Request, Response

from flowservice.api.deps import get_caller, get_runtime, get_scope
from flowservice.api.runtime import Runtime
from flowservice.auth.tokens import Caller
from flowservice.console.session_store import ConsoleSession, find_session
from flowservice.errors import InvalidRequest, PermissionDenied
from flowservice.store.repos.resources import Scope

SESSION_COOKIE = "flowservice_console"
SIGN_IN_COOKIE = "flowservice_console_sign_in"  # double-submit token of the sign-in form
COOKIE_PATH = "/console"
MAX_FORM_BYTES = 64 * 1024

READ_ONLY = "Your session is read-only: it can look at everything but change nothing."
BAD_FORM = (
    "This form could not be accepted (it was not sent by this console page, or the page "
    "is out of date). Reload the page and try again."
)


def runtime_of(request: Request) -> Runtime:
    return get_runtime(request)


def current_session(request: Request, runtime: Runtime) -> ConsoleSession | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    with runtime.transaction() as session:
        return find_session(session, secret=secret, now=int(time.time()))


def caller_of_token(runtime: Runtime, token: str) -> Caller:
    """Verify an access token as the API does (and register its org and client if new)."""
    claimed = runtime.verifier.verify(token)
    return get_caller(
        runtime,
        authorization=f"Bearer {token}",
        x_api_key=claimed.client_id,
        x_gw_ims_org_id=claimed.org_id,
    )


def scope_of(runtime: Runtime, user: ConsoleSession) -> Scope:
    """The org and sandbox scope of the session, through the API's own ``get_scope``."""
    return get_scope(runtime, user.caller, x_sandbox_name=user.sandbox_name)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the last value of a repeated field)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise PermissionDenied(BAD_FORM)
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise InvalidRequest("The form is too large.")
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise InvalidRequest("The form is not UTF-8.") from None


def check_origin(request: Request) -> None:
    """A browser's POST names its origin: it must be this server's."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        if origin == "null":
            raise PermissionDenied(BAD_FORM)
        return
    expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin.rstrip("/") != expected:
        raise PermissionDenied(BAD_FORM)


def check_csrf(expected: str, form: dict[str, str]) -> None:
    given = form.get("csrf", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied(BAD_FORM)


def require_write(user: ConsoleSession) -> None:
    if not user.caller.can_write:
        raise PermissionDenied(READ_ONLY)
