"""Request dependencies as ``Annotated`` aliases: runtime, caller, write access, scope, body.

Routes declare what they need (``caller: CallerDep``, ``scope: ScopeDep``,
``_: WriteAccess``, ``body: JsonBody``); the checks run in header order so
the first missing header is the one reported, as the gateway does.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.exc import IntegrityError

from flowservice.api.errors import ContentTypeRequired
from flowservice.api.input_limits import load_json
from flowservice.api.runtime import Runtime
from flowservice.auth.tokens import Caller
from flowservice.errors import GatewayError, InvalidRequest, PermissionDenied
from flowservice.store.repos import identity
from flowservice.store.repos.resources import Scope


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_caller(
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(description="Bearer access token")] = None,
    x_api_key: Annotated[
        str | None, Header(description="API key: the client id the token was issued to")
    ] = None,
    x_gw_ims_org_id: Annotated[str | None, Header(description="IMS org id")] = None,
) -> Caller:
    if not authorization:
        raise GatewayError("Oauth token is missing.", error_code="403010", status=403)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GatewayError("Oauth token is not valid", error_code="401013", status=401)
    caller = runtime.verifier.verify(token.strip())
    if not x_api_key:
        raise GatewayError("Api Key is required", error_code="403000", status=403)
    if x_api_key != caller.client_id:
        raise GatewayError("Api Key is invalid", error_code="403003", status=403)
    if not x_gw_ims_org_id:
        raise GatewayError("Missing header", error_code="400003", status=400)
    if x_gw_ims_org_id != caller.org_id:
        raise GatewayError("Profile is not valid", error_code="403025", status=403)
    key = (caller.org_id, caller.client_id)
    if key not in runtime.known_clients:
        try:
            _provision(runtime, caller)
        except IntegrityError:
            # a concurrent first request provisioned the same org or client: use theirs
            _provision(runtime, caller)
        runtime.known_clients.add(key)
    return caller


def _provision(runtime: Runtime, caller: Caller) -> None:
    """Orgs and clients of valid tokens are created on first sight (with `prod`)."""
    with runtime.transaction() as session:
        identity.ensure_org(session, org_id=caller.org_id, actor=caller.subject)
        client = identity.find_client(session, client_id=caller.client_id)
        if client is not None and client.org_id != caller.org_id:
            raise GatewayError("Api Key is invalid", error_code="403003", status=403)
        identity.ensure_client(session, org_id=caller.org_id, client_id=caller.client_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_write(caller: CallerDep) -> Caller:
    if not caller.can_write:
        raise PermissionDenied("The access token is read-only; this request needs write access.")
    return caller


WriteAccess = Annotated[Caller, Depends(require_write)]


def get_scope(
    runtime: RuntimeDep,
    caller: CallerDep,
    x_sandbox_name: Annotated[
        str | None, Header(description="Sandbox name, lower case (e.g. prod)")
    ] = None,
) -> Scope:
    name = (x_sandbox_name or "").strip() or runtime.settings.default_sandbox
    if not name:
        raise InvalidRequest("The header x-sandbox-name is missing in the request", code=2105)
    with runtime.transaction() as session:
        sandbox = identity.get_sandbox(session, org_id=caller.org_id, name=name)
        return Scope(
            org_id=caller.org_id,
            sandbox_id=sandbox.id,
            sandbox_name=sandbox.name,
            actor=caller.subject,
            client_id=caller.client_id,
        )


ScopeDep = Annotated[Scope, Depends(get_scope)]

_JSON_TYPES = ("application/json", "application/json-patch+json")
# Adobe's PATCH examples send no Content-Type header (curl -d then sends its form default):
# a PATCH with either is read as application/json-patch+json; other methods still need JSON
_PATCH_DEFAULT_TYPES = ("", "application/x-www-form-urlencoded")


def _is_json(method: str, content_type: str) -> bool:
    if content_type in _JSON_TYPES or content_type.endswith("+json"):
        return True
    return method == "PATCH" and content_type in _PATCH_DEFAULT_TYPES


async def read_json_body(request: Request, runtime: RuntimeDep) -> Any:
    """The parsed JSON body; 400 on a wrong Content-Type, an empty, malformed or hostile body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not _is_json(request.method, content_type):
        raise ContentTypeRequired()
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("The request body is empty.", code=1405)
    try:
        # the encodings json.loads accepts (UTF-8, -16, -32), decoded as it does
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        body = load_json(text, what="The request body")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise InvalidRequest(f"The request body is not valid JSON{where}: {reason}.") from None
    if _has_nul(body):
        # PostgreSQL cannot store U+0000 in text or JSON; no real name or param needs it
        raise InvalidRequest("The request body contains a NUL character (\\u0000).")
    return body


def _has_nul(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (keys too) holds U+0000; walked without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


JsonBody = Annotated[Any, Depends(read_json_body)]
