"""The one place where errors become HTTP responses.

Gateway errors (headers, tokens, API keys) answer ``{"error_code", "message"}``;
a missing or wrong Content-Type answers the gateway's problem body; every
other error is a ``{service}-{code}-{status}`` problem body (``FLOW-`` unless
the error belongs to another Adobe API, e.g. ``INSGHT-``) carrying the request
id. A method a path does not serve is a 405 problem whose ``Allow`` lists the
methods it does serve. Unexpected exceptions become a 500 in the same format,
logged with the request id and never with a stack trace in the response.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from flowservice.api.route_table import methods_of_path
from flowservice.errors import FlowServiceError, GatewayError, InternalError, InvalidRequest
from flowservice.secrets import redact

log = logging.getLogger("flowservice.api")

ERROR_TYPE_BASE = "https://ns.adobe.com/aep/errors/"


class ContentTypeRequired(InvalidRequest):
    """A body was sent without ``Content-Type: application/json``."""

    def __init__(self) -> None:
        super().__init__("A valid content-type must be specified")


class MethodNotAllowed(FlowServiceError):
    """The path exists but not with this method; ``allowed`` is what it serves."""

    code = 1100
    status = 405
    title = "Method not allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(f"{method} is not allowed here; use {', '.join(allowed) or 'nothing'}.")
        self.allowed = allowed


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def problem_body(exc: FlowServiceError, request_id: str) -> dict[str, Any]:
    message = redact(exc.message)
    report: dict[str, Any] = {"detailed-message": message, "request-id": request_id}
    if exc.resource_id is not None:
        report["id"] = exc.resource_id
    if exc.resource_type is not None:
        report["type"] = exc.resource_type
    return {
        "type": f"{ERROR_TYPE_BASE}{exc.service}-{exc.code}-{exc.status}",
        "title": exc.title,
        "status": exc.status,
        "report": report,
        "errorMessage": message,
        "errorDetails": message,
    }


def error_response(
    exc: FlowServiceError, request_id: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``headers`` are kept (e.g. a framework exception's); the request id and Allow are ours."""
    headers = dict(headers or {})
    if request_id:
        headers["x-request-id"] = request_id
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    if isinstance(exc, GatewayError):
        body: dict[str, Any] = {"error_code": exc.error_code, "message": exc.message}
    elif isinstance(exc, ContentTypeRequired):
        body = {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": exc.message,
        }
    else:
        body = problem_body(exc, request_id)
    if exc.status >= 500:
        log.error("request %s failed: %s", request_id, redact(exc.message))
    return JSONResponse(body, status_code=exc.status, headers=headers)


def describe_validation(errors: list[Any], prefix: str = "") -> str:
    """Where and what, never the offending input (it may be a secret)."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join([prefix, *loc] if prefix else loc) or "request"
        parts.append(f"{where}: {err.get('msg', 'is not valid')}")
    return "; ".join(parts)


def unexpected_error(request_id: str, exc: BaseException) -> JSONResponse:
    log.error(
        "request %s failed unexpectedly: %s: %s",
        request_id,
        type(exc).__name__,
        redact(str(exc)),
    )
    return error_response(
        InternalError(f"An internal error occurred; quote request id {request_id}."), request_id
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_flow_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FlowServiceError)
        return error_response(exc, request_id_of(request))

    async def on_request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problem = InvalidRequest(describe_validation(list(exc.errors())))
        return error_response(problem, request_id_of(request))

    async def on_pydantic(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        problem = InvalidRequest(describe_validation(list(exc.errors()), "body"), code=1455)
        return error_response(problem, request_id_of(request))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem: FlowServiceError
        if exc.status_code == 405:
            # Starlette's Allow names the methods of one route; a path may have several
            allowed = methods_of_path(request.app, request.scope["path"])
            problem = MethodNotAllowed(request.method, allowed)
        else:
            code = {404: 1101}.get(exc.status_code, 1100)
            problem = FlowServiceError(str(exc.detail), code=code, status=exc.status_code)
            problem.title = "Not found" if exc.status_code == 404 else "Bad request"
        return error_response(problem, request_id_of(request), exc.headers)

    app.add_exception_handler(FlowServiceError, on_flow_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(StarletteHTTPException, on_http)
