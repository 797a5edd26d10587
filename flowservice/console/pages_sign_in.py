"""Signing in (a one-time link or an access token) and out."""

from __future__ import annotations

import secrets
import time

import jwt
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from flowservice.auth.tokens import Caller
from flowservice.console.access import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    caller_of_token,
    check_csrf,
    check_origin,
    clear_cookie,
    current_session,
    read_form,
    runtime_of,
    scope_of,
    set_cookie,
)
from flowservice.console.links import read_link
from flowservice.console.page_runner import error_page, plain_message
from flowservice.console.rendering import render
from flowservice.console.session_store import (
    SESSION_TTL_SECONDS,
    ConsoleSession,
    create_session,
    end_session,
    spend_link_nonce,
)
from flowservice.errors import FlowServiceError

router = APIRouter()

HOME_PATH = "/console/dataflows"
DEFAULT_SANDBOX = "prod"
SIGN_IN_FORM_SECONDS = 3600


def _sign_in_form(
    request: Request, *, error: str = "", sandbox: str = "", status_code: int = 200
) -> Response:
    # one value per browser while it signs in: a failed try keeps the form it has valid
    nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "sign_in.html",
        user=None,
        status_code=status_code,
        sign_in_csrf=nonce,
        error=error,
        sandbox=sandbox,
    )
    set_cookie(response, request, SIGN_IN_COOKIE, nonce, SIGN_IN_FORM_SECONDS)
    return response


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    if current_session(request, runtime_of(request)) is not None:
        return RedirectResponse(HOME_PATH, status_code=303)
    return _sign_in_form(request)


def _start_session(request: Request, caller: Caller, sandbox: str, expires_at: int) -> str:
    """Check the sandbox as the API would, then store the session; returns its secret."""
    runtime = runtime_of(request)
    now = int(time.time())
    draft = ConsoleSession(caller, sandbox, "", expires_at)
    scope_of(runtime, draft)  # NotFound when the org has no such sandbox
    with runtime.transaction() as session:
        return create_session(
            session, caller=caller, sandbox_name=sandbox, now=now, expires_at=expires_at
        )


def _token_expiry(token: str) -> int:
    """The session ends with the token (or after the console's own limit, if sooner)."""
    limit = int(time.time()) + SESSION_TTL_SECONDS
    claims = jwt.decode(token, options={"verify_signature": False})
    exp = claims.get("exp")
    return min(limit, int(exp)) if isinstance(exp, int) else limit


def _sign_in_with_token(request: Request, token: str, sandbox: str) -> str:
    caller = caller_of_token(runtime_of(request), token)
    return _start_session(request, caller, sandbox, _token_expiry(token))


def _signed_in(request: Request, secret: str, expires_at: int) -> Response:
    response = RedirectResponse(HOME_PATH, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, secret, max(1, expires_at - int(time.time())))
    clear_cookie(response, request, SIGN_IN_COOKIE)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    sandbox = DEFAULT_SANDBOX
    try:
        check_origin(request)
        form = await read_form(request)
        check_csrf(request.cookies.get(SIGN_IN_COOKIE, ""), form)
        token = form.get("token", "").strip()
        sandbox = form.get("sandbox", "").strip().lower() or _default_sandbox(request)
        if not token:
            return _sign_in_form(
                request, error="Paste an access token.", sandbox=sandbox, status_code=400
            )
        secret = await run_in_threadpool(_sign_in_with_token, request, token, sandbox)
    except FlowServiceError as exc:
        return _sign_in_form(
            request, error=plain_message(exc), sandbox=sandbox, status_code=exc.status
        )
    return _signed_in(request, secret, _token_expiry(token))


def _default_sandbox(request: Request) -> str:
    return runtime_of(request).settings.default_sandbox or DEFAULT_SANDBOX


def _sign_in_with_link(request: Request, token: str) -> tuple[str, int]:
    runtime = runtime_of(request)
    grant = read_link(runtime.settings, token)
    now = int(time.time())
    with runtime.transaction() as session:
        spend_link_nonce(session, nonce=grant.nonce, now=now, expires_at=grant.expires_at)
    caller = Caller(grant.org_id, grant.client_id, grant.subject, grant.scope)
    expires_at = now + SESSION_TTL_SECONDS
    sandbox = grant.sandbox_name or _default_sandbox(request)
    return _start_session(request, caller, sandbox, expires_at), expires_at


@router.get("/link")
def sign_in_with_link(request: Request, token: str = "") -> Response:
    try:
        secret, expires_at = _sign_in_with_link(request, token)
    except FlowServiceError as exc:
        return _sign_in_form(request, error=plain_message(exc), status_code=exc.status)
    # a page of our own, not a redirect: the next request starts on this site, so the
    # SameSite=Strict cookie goes with it even when the link was opened from elsewhere
    response = render(request, "signed_in.html", user=None, next_path=HOME_PATH)
    set_cookie(response, request, SESSION_COOKIE, secret, max(1, expires_at - int(time.time())))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    runtime = runtime_of(request)
    user = await run_in_threadpool(current_session, request, runtime)
    secret = request.cookies.get(SESSION_COOKIE, "")
    if user is not None:
        try:
            check_origin(request)
            check_csrf(user.csrf_token, await read_form(request))
        except FlowServiceError as exc:
            return error_page(request, user, plain_message(exc), exc.status)

        def forget() -> None:
            with runtime.transaction() as session:
                end_session(session, secret=secret)

        await run_in_threadpool(forget)
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response
