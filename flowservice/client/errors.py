"""The SDK's one exception tree, built from the service's error bodies.

Branches are grouped by what the caller should do about them::

    FlowServiceError                 status, code, message, request_id
    ├── BadRequest             400   fix the request (and any other 4xx not named below)
    ├── Conflict               400   the resource is in use or in the wrong state (FLOW-1416,
    │   │                            FLOW-1418, or a 409): change it first, then try again
    │   └── PreconditionFailed 412   If-Match is stale: read the resource again, re-apply
    ├── Unauthorized           401   get a new token
    ├── Forbidden              403   the token, API key or org may not do this
    ├── NotFound               404   no such resource in this org and sandbox
    ├── RateLimited            429   slow down (retried for idempotent requests)
    ├── ServerError            5xx   the service failed (502/503/504 retried when idempotent)
    ├── TransportError               no HTTP answer at all (retried when idempotent)
    └── RunTimeout                   ``wait_for_run`` gave up before the run finished

``code`` is the service's code: ``FLOW-1101-404`` from a problem body's ``type``,
or a gateway's ``error_code`` (``401013``). Messages pass through
``flowservice.secrets.redact`` with the client's own token, and
neither ``str`` nor ``repr`` shows request headers, so secrets never reach a
traceback or a log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from flowservice.secrets import redact

# Flow Service codes that answer 400 but mean "the resource's state stands in the way"
CONFLICT_CODES = frozenset({"1416", "1418"})


class FlowServiceError(Exception):
    """Root of every error the SDK raises."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        head = " ".join(str(part) for part in (self.status, self.code) if part)
        tail = f" (request id {self.request_id})" if self.request_id else ""
        return f"{head}: {self.message}{tail}" if head else f"{self.message}{tail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequest(FlowServiceError):
    """The request is wrong: the body, a filter, a parameter, a header."""


class Conflict(FlowServiceError):
    """The resource is in use or in a state that refuses this request."""


class PreconditionFailed(Conflict):
    """If-Match named an etag that is no longer current."""


class Unauthorized(FlowServiceError):
    """The token is missing, expired or not signed by this server's key."""


class Forbidden(FlowServiceError):
    """The token, API key or org may not do this."""


class NotFound(FlowServiceError):
    """No such resource in this org and sandbox."""


class RateLimited(FlowServiceError):
    """Too many requests; ``retry_after`` is the server's wait in seconds, if it said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class ServerError(FlowServiceError):
    """The service (or a gateway in front of it) failed."""

    retryable = True


class TransportError(FlowServiceError):
    """No HTTP answer: the connection failed or timed out."""

    retryable = True


class RunTimeout(FlowServiceError):
    """A run did not finish in time; ``state`` is the last one seen."""

    def __init__(self, message: str, *, run_id: str, state: str | None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.state = state


_BY_STATUS: dict[int, type[FlowServiceError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: RateLimited,
}


def error_class(status: int, code: str | None) -> type[FlowServiceError]:
    """The branch of the tree for an HTTP status and a service code."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if code is not None and code.startswith("FLOW-") and code.split("-")[1] in CONFLICT_CODES:
        return Conflict
    return BadRequest


def _code_and_message(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    if "error_code" in body:  # the gateway's shape
        return str(body["error_code"]), _text(body.get("message"))
    found = body.get("report")
    report: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = body.get("type")
    code = str(kind).rsplit("/", 1)[-1] if isinstance(kind, str) and "/" in kind else None
    for candidate in (
        report.get("detailed-message"),
        body.get("errorMessage"),
        body.get("detail"),
        body.get("title"),
    ):
        if candidate:
            return code, _text(candidate)
    return code, None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date counted from now."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: httpx.Response, secrets: Iterable[str]) -> FlowServiceError:
    """The exception for an error answer; nothing of the request's headers is kept."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code, message = _code_and_message(body)
    request_id = response.headers.get("x-request-id")
    if request_id is None and isinstance(body, dict) and isinstance(body.get("report"), dict):
        request_id = _text(body["report"].get("request-id"))
    request = response.request
    if message is None:
        message = f"{request.method} {request.url.path} answered {response.status_code}"
    message = redact(message, secrets)
    cls = error_class(response.status_code, code)
    fields: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "request_id": request_id,
    }
    if cls is RateLimited:
        return RateLimited(
            message, retry_after=retry_after_seconds(response.headers.get("Retry-After")), **fields
        )
    return cls(message, **fields)


def transport_error(
    request: httpx.Request, exc: httpx.TransportError, secrets: Iterable[str]
) -> TransportError:
    """A connection failure, named by method, path and the failure's kind."""
    detail = redact(str(exc), secrets) or type(exc).__name__
    return TransportError(
        f"{request.method} {request.url.path} got no answer: {type(exc).__name__}: {detail}",
        request_id=request.headers.get("x-request-id"),
    )
