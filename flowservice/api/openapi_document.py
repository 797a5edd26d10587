"""The served OpenAPI document, completed so that clients and fuzzers can rely on it.

FastAPI generates paths, parameters and success answers from the routes; this
module post-processes that document once, in one place:

- self-contained: ``$defs`` carried by request bodies move to
  ``components/schemas``, so every ``$ref`` resolves from the document root;
- the gateway's credentials (bearer token, ``x-api-key``) are security schemes,
  ``x-gw-ims-org-id`` is a required header, ``x-sandbox-name`` too unless the
  service has a default sandbox; an optional parameter is absent, never ``null``;
- every status an operation can answer is declared with its error body, derived
  from what the operation does (its dependencies, path, headers and body): see
  ``error_statuses``. FastAPI's 422 goes: validation errors answer 400 here.

``docs/openapi.md`` lists the guarantees and how schemathesis checks them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from flowservice.api.deps import get_caller, get_scope, read_json_body, require_write
from flowservice.api.request_bodies import component_ref
from flowservice.api.route_table import RouteInfo, api_routes
from flowservice.errors import InternalError
from flowservice.settings import Settings

Document = dict[str, Any]

PROBLEM = "Problem"
GATEWAY_ERROR = "GatewayError"
GATEWAY_BAD_REQUEST = "GatewayBadRequest"
JSON_PATCH = "JsonPatch"
SECURITY: list[dict[str, list[str]]] = [{"bearerToken": [], "apiKey": []}]
# described by the security schemes instead of as parameters
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key"})
ORG_HEADER = "x-gw-ims-org-id"
SANDBOX_HEADER = "x-sandbox-name"
IF_MATCH_HEADER = "if-match"
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

ERROR_SCHEMAS: dict[str, Any] = {
    PROBLEM: {
        "type": "object",
        "description": "An error of the service: type ends in FLOW-{code}-{status} "
        "(INSGHT- for Observability Insights)",
        "required": ["type", "title", "status", "report"],
        "properties": {
            "type": {"type": "string", "pattern": "/(FLOW|INSGHT)-[0-9]+-[0-9]{3}$"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "report": {
                "type": "object",
                "required": ["detailed-message", "request-id"],
                "properties": {
                    "detailed-message": {"type": "string"},
                    "request-id": {"type": "string"},
                    "id": {"type": "string", "description": "The resource concerned"},
                    "type": {"type": "string", "description": "Its kind"},
                },
            },
            "errorMessage": {"type": "string"},
            "errorDetails": {"type": "string"},
        },
    },
    GATEWAY_ERROR: {
        "type": "object",
        "description": "Rejected by the gateway checks: headers, token, API key",
        "required": ["error_code", "message"],
        "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
    },
    GATEWAY_BAD_REQUEST: {
        "type": "object",
        "description": "A body sent without Content-Type: application/json",
        "required": ["type", "status", "title", "detail"],
        "properties": {
            "type": {"type": "string"},
            "status": {"const": 400},
            "title": {"type": "string"},
            "detail": {"type": "string"},
        },
    },
}

HEADERS: dict[str, Any] = {
    "RequestId": {
        "description": "The request id: the client's x-request-id when well-formed, else a new one",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where the new resource can be read",
        "required": True,
        "schema": {"type": "string"},
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token: `flowservice auth token --org ORG`",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "The client id the access token was issued to",
    },
}


@dataclass(frozen=True)
class OperationFacts:
    """What an operation does that decides which errors it can answer."""

    authenticated: bool  # checks the gateway headers and the token
    writes: bool  # needs a token with write access
    sandboxed: bool  # resolves x-sandbox-name to a sandbox of the org
    reads_body: bool  # reads a JSON body
    has_path_id: bool  # names a resource in its path
    takes_if_match: bool  # compares If-Match with the resource's etag


def install_openapi_document(app: FastAPI, settings: Settings) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, on first use)."""
    generate = app.openapi
    built: Document | None = None

    def openapi() -> Document:
        nonlocal built
        if built is None:
            built = complete_document(
                copy.deepcopy(generate()),
                list(api_routes(app.routes)),
                sandbox_required=not settings.default_sandbox,
            )
        return built

    app.openapi = openapi  # type: ignore[method-assign]


def complete_document(
    document: Document, routes: list[RouteInfo], *, sandbox_required: bool
) -> Document:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in ERROR_SCHEMAS.items():
        _add_component(schemas, name, schema)
    components.setdefault("headers", {}).update(copy.deepcopy(HEADERS))
    components.setdefault("securitySchemes", {}).update(copy.deepcopy(SECURITY_SCHEMES))
    _hoist_definitions(document, schemas)
    for path, method, operation in _operations(document):
        facts = facts_of(_route_of(routes, path, method), operation)
        _complete_operation(operation, facts, sandbox_required=sandbox_required)
    for name in FASTAPI_VALIDATION_SCHEMAS:
        if not _references(document, component_ref(name)):
            schemas.pop(name, None)
    return document


def facts_of(route: RouteInfo, operation: Document) -> OperationFacts:
    calls = set(_dependency_calls(route.dependant))
    params = operation.get("parameters", [])
    return OperationFacts(
        authenticated=get_caller in calls,
        writes=require_write in calls,
        sandboxed=get_scope in calls,
        reads_body=read_json_body in calls,
        has_path_id=any(p["in"] == "path" for p in params),
        takes_if_match=any(_is_header(p, IF_MATCH_HEADER) for p in params),
    )


def error_statuses(facts: OperationFacts) -> dict[str, tuple[str, list[str]]]:
    """Status → (why, body schema names) for every error the operation can answer."""
    bad_request = [PROBLEM]
    reasons = ["a malformed query or path"]
    if facts.authenticated:
        bad_request.append(GATEWAY_ERROR)
        reasons.append("x-gw-ims-org-id missing")
    if facts.sandboxed:
        reasons.append("no sandbox named")
    if facts.reads_body:
        bad_request.append(GATEWAY_BAD_REQUEST)
        reasons.append("a body that is not JSON or not valid, or a conflict with current state")
    if facts.takes_if_match:
        reasons.append("an If-Match that is required and missing")
    statuses: dict[str, tuple[str, list[str]]] = {
        "400": ("Bad request: " + "; ".join(reasons), bad_request)
    }
    if facts.authenticated:
        statuses["401"] = ("The access token is not valid", [GATEWAY_ERROR])
        forbidden = [GATEWAY_ERROR, PROBLEM] if facts.writes else [GATEWAY_ERROR]
        why = "Token, API key or org refused" + (", or a read-only token" if facts.writes else "")
        statuses["403"] = (why, forbidden)
    if facts.has_path_id or facts.sandboxed:
        statuses["404"] = ("No such resource (or sandbox) in this org", [PROBLEM])
    if facts.takes_if_match:
        statuses["412"] = ("If-Match does not match the resource's current etag", [PROBLEM])
    statuses["500"] = ("The service or a source system failed", [PROBLEM])
    return statuses


def _complete_operation(
    operation: Document, facts: OperationFacts, *, sandbox_required: bool
) -> None:
    _complete_parameters(operation, sandbox_required=sandbox_required)
    if facts.authenticated:
        operation["security"] = copy.deepcopy(SECURITY)
    if facts.reads_body and "requestBody" not in operation:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"description": "Any JSON value"}}},
        }
    _complete_responses(operation, facts)


def _complete_parameters(operation: Document, *, sandbox_required: bool) -> None:
    params = [
        p for p in operation.get("parameters", []) if p["name"].lower() not in CREDENTIAL_HEADERS
    ]
    patch_body = _body_refers_to(operation, component_ref(JSON_PATCH))
    for param in params:
        _drop_null(param)
        header = param["name"].lower() if param["in"] == "header" else None
        if header == IF_MATCH_HEADER:
            # patching.required_etag: a blank If-Match is refused like a missing one
            param["schema"]["pattern"] = r"\S"
        if (
            header == ORG_HEADER
            or (header == SANDBOX_HEADER and sandbox_required)
            # every JSON Patch route takes the etag unconditionally (patching.required_etag)
            or (header == IF_MATCH_HEADER and patch_body)
        ):
            param["required"] = True
    if params:
        operation["parameters"] = params
    else:
        operation.pop("parameters", None)


def _complete_responses(operation: Document, facts: OperationFacts) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    for status, response in responses.items():
        media = response.get("content", {}).get("application/json", {})
        # an error only this route gives, declared on it (``responses={409: ...}``)
        if _is_error(status) and not media.get("schema"):
            response["content"] = {"application/json": {"schema": {"$ref": component_ref(PROBLEM)}}}
    for status, (why, shapes) in error_statuses(facts).items():
        refs = [{"$ref": component_ref(name)} for name in shapes]
        schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
        responses[status] = {
            "description": why,
            "content": {"application/json": {"schema": schema}},
        }
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["x-request-id"] = {"$ref": "#/components/headers/RequestId"}
        if status == "201":
            headers["Location"] = {"$ref": "#/components/headers/Location"}


def _is_error(status: str) -> bool:
    return status.isdigit() and int(status) >= 400


def _drop_null(param: Document) -> None:
    """An optional parameter is sent or not; FastAPI's ``anyOf [T, null]`` becomes ``T``."""
    schema = param.get("schema", {})
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return
    kept = [b for b in branches if b != {"type": "null"}]
    if len(kept) == 1:
        del schema["anyOf"]
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Move every ``$defs`` into ``components/schemas``; point ``#/$defs/X`` refs there."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            _hoist_definitions(schema, schemas)
            _add_component(schemas, name, schema)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = component_ref(ref.removeprefix("#/$defs/"))
        for value in node.values():
            _hoist_definitions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_definitions(value, schemas)


def _add_component(schemas: dict[str, Any], name: str, schema: Any) -> None:
    existing = schemas.get(name)
    if existing is not None and existing != schema:
        raise InternalError(f"Two different schemas are named {name} in the OpenAPI document.")
    schemas[name] = copy.deepcopy(schema)


def _operations(document: Document) -> Iterator[tuple[str, str, Document]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            yield path, method, operation


def _route_of(routes: list[RouteInfo], path: str, method: str) -> RouteInfo:
    for route in routes:
        if route.path == path and method.upper() in route.methods:
            return route
    raise InternalError(f"No route serves {method.upper()} {path}.")


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def _is_header(param: Document, name: str) -> bool:
    return bool(param["in"] == "header" and str(param["name"]).lower() == name)


def _body_refers_to(operation: Document, ref: str) -> bool:
    return _references(operation.get("requestBody", {}), ref)


def _references(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_references(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_references(v, ref) for v in node)
    return False
