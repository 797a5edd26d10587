"""Connect: a form generated from a connection spec's auth schema, then "Test connection".

The spec is read and the account created through the API's own route functions
(``get_connection_spec``, ``create_connection``), and the test runs the API's test
route, so validation, secrets handling and isolation are the API's.
"""

from __future__ import annotations

from typing import Any

from anyio.from_thread import run as run_async
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from flowservice.api.routes import connection_specs as spec_routes
from flowservice.api.routes import connections as connection_routes
from flowservice.api.routes import explore as explore_routes
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import act_on_form, plain_message, show_page
from flowservice.console.rendering import render
from flowservice.console.schema_form import form_fields, params_from_form, plain_problem
from flowservice.console.session_store import ConsoleSession
from flowservice.errors import FlowServiceError, InvalidRequest
from flowservice.secrets import redact
from flowservice.store.repos.resources import Scope

router = APIRouter()

CONNECT_PATH = "/console/connect"


def _spec_doc(request: Request, user: ConsoleSession, spec_id: str) -> dict[str, Any]:
    answer = spec_routes.get_connection_spec(spec_id, runtime_of(request), user.caller)
    doc: dict[str, Any] = answer["items"][0]
    return doc


def _auth_entry(doc: dict[str, Any], auth_name: str | None) -> dict[str, Any]:
    entries: list[dict[str, Any]] = list(doc.get("authSpec") or [])
    if not entries:
        raise InvalidRequest("This source declares no way to authenticate, so it cannot connect.")
    chosen = next((e for e in entries if e.get("name") == auth_name), entries[0])
    return chosen


@router.get("/connect")
def connect_catalog(request: Request) -> Response:
    runtime = runtime_of(request)

    def build(user: ConsoleSession, _scope: Scope) -> Response:
        sources = sorted(
            (
                {"id": spec.doc["id"], "name": spec.doc.get("name") or spec.doc["id"]}
                for spec in runtime.specs.all()
                if (spec.doc.get("attributes") or {}).get("isSource") and spec.doc.get("authSpec")
            ),
            key=lambda s: s["name"].lower(),
        )
        return render(request, "connect_catalog.html", user=user, sources=sources)

    return show_page(request, build)


def _form_page(
    request: Request,
    user: ConsoleSession,
    spec_id: str,
    auth_name: str | None,
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    doc = _spec_doc(request, user, spec_id)
    entry = _auth_entry(doc, auth_name)
    fields = form_fields(entry.get("spec") or {}, typed)
    return render(
        request,
        "connect_form.html",
        user=user,
        status_code=status_code,
        spec={"id": doc["id"], "name": doc.get("name") or doc["id"]},
        auth_names=[e.get("name", "") for e in doc.get("authSpec") or []],
        auth_name=entry.get("name", ""),
        schema_help=str((entry.get("spec") or {}).get("description") or ""),
        fields=fields,
        account_name=(typed or {}).get("name", ""),
        account_description=(typed or {}).get("description", ""),
        problem=plain_problem(error, fields) if error else "",
    )


@router.get("/connect/{spec_id}")
def connect_form(request: Request, spec_id: str, auth: str | None = None) -> Response:
    return show_page(request, lambda user, _scope: _form_page(request, user, spec_id, auth))


@router.post("/connect/{spec_id}")
async def create_account(request: Request, spec_id: str) -> Response:
    runtime = runtime_of(request)

    def act(user: ConsoleSession, scope: Scope, form: dict[str, str]) -> Response:
        auth_name = form.get("authSpec")
        doc = _spec_doc(request, user, spec_id)
        entry = _auth_entry(doc, auth_name)
        schema = entry.get("spec") or {}
        secrets = [form.get(f.input_name, "") for f in form_fields(schema) if f.kind == "password"]
        try:
            params = params_from_form(schema, form)
            body = {
                "name": form.get("name", "").strip(),
                "description": form.get("description", "").strip() or None,
                "auth": {"specName": entry.get("name", ""), "params": params},
                "connectionSpec": {"id": doc["id"], "version": doc.get("version") or "1.0"},
            }
            if not body["name"]:
                raise InvalidRequest("Name is required: give the account a name.")
            created = connection_routes.create_connection(
                runtime, user.caller, scope, body, Response()
            )
        except FlowServiceError as exc:
            message = redact(plain_message(exc), secrets)
            return _form_page(
                request,
                user,
                spec_id,
                entry.get("name"),
                typed=form,
                error=message,
                status_code=exc.status,
            )
        return RedirectResponse(f"/console/accounts/{created['id']}/test", status_code=303)

    return await act_on_form(request, act)


def _account(request: Request, scope: Scope, connection_id: str) -> dict[str, Any]:
    runtime = runtime_of(request)
    item: dict[str, Any] = connection_routes.get_connection(connection_id, runtime, scope)["items"][
        0
    ]
    spec = runtime.specs.find(str(item.get("connectionSpec", {}).get("id")))
    return {
        "id": item["id"],
        "name": item.get("name") or item["id"],
        "spec": spec.name if spec is not None else "unknown",
    }


def _test_page(
    request: Request,
    user: ConsoleSession,
    scope: Scope,
    connection_id: str,
    *,
    result: dict[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "connect_test.html",
        user=user,
        account=_account(request, scope, connection_id),
        result=result,
    )


@router.get("/accounts/{connection_id}/test")
def account_test_page(request: Request, connection_id: str) -> Response:
    return show_page(request, lambda user, scope: _test_page(request, user, scope, connection_id))


@router.post("/accounts/{connection_id}/test")
async def test_account(request: Request, connection_id: str) -> Response:
    runtime = runtime_of(request)

    def act(user: ConsoleSession, scope: Scope, _form: dict[str, str]) -> Response:
        # the API's own test route (async): same connector call, same redaction, same answer
        answer: dict[str, Any] = run_async(
            explore_routes.test_connection, connection_id, runtime, scope
        )
        result = {
            "ok": bool(answer.get("result")),
            "message": str(answer.get("message") or ""),
        }
        return _test_page(request, user, scope, connection_id, result=result)

    return await act_on_form(request, act)
