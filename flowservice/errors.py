"""The one exception tree of flowservice.

Every error the product raises on purpose derives from ``FlowServiceError``.
Branches are grouped by what the caller should do about them::

    FlowServiceError                 code, status, message, resource fields
    ├── GatewayError                 rejected before the service: headers, tokens, API keys
    ├── InvalidRequest         400   fix the request (bad body, filter, patch, ...)
    │   └── ValidationFailed   400   a body or param failed its JSON Schema / spec
    ├── PermissionDenied       403   the token may not do this
    ├── NotFound               404   no such resource in this org and sandbox
    ├── PreconditionFailed     412   If-Match does not match the current etag
    ├── Conflict               400   the resource is in use or in the wrong state
    ├── ConnectorError         500   a source system failed
    │   ├── SourceConfigError        wrong credentials, unknown database, ... (don't retry)
    │   ├── TransientSourceError     network, deadlock, timeout (retry with backoff)
    │   └── SourceSystemError        the source failed in an unexpected way
    ├── LakeError              500   writing or reading a dataset failed
    │   └── SchemaMismatch     400   a batch does not fit the dataset's schema
    └── InternalError          500   a bug; logged with the request id

``code`` is the Flow Service error number (the ``1101`` in ``FLOW-1101-404``; ``service``
is the prefix, e.g. ``INSGHT`` for Observability Insights);
``status`` the HTTP status. Exactly one place, ``flowservice.api.errors``,
turns these into HTTP responses. Messages must never contain secrets: build
them from names and ids, and pass anything user-supplied through
``flowservice.secrets.redact`` first.
"""

from __future__ import annotations


class FlowServiceError(Exception):
    """Root of every error flowservice raises on purpose."""

    code: int = 1102
    status: int = 500
    title: str = "Internal server error"
    service: str = "FLOW"  # the problem type's prefix; other Adobe APIs have their own

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.resource_type = resource_type
        self.resource_id = resource_id


class GatewayError(FlowServiceError):
    """Rejected at the gateway: answered as ``{"error_code", "message"}``."""

    def __init__(self, message: str, *, error_code: str, status: int) -> None:
        super().__init__(message, status=status)
        self.error_code = error_code


class InvalidRequest(FlowServiceError):
    code = 1100
    status = 400
    title = "Bad request"


class ValidationFailed(InvalidRequest):
    code = 1455
    title = "Validation failed"


class PermissionDenied(FlowServiceError):
    code = 2118
    status = 403
    title = "Forbidden"


class NotFound(FlowServiceError):
    code = 1101
    status = 404
    title = "Resource not found"


class PreconditionFailed(FlowServiceError):
    code = 1404
    status = 412
    title = "Precondition failed"


class Conflict(FlowServiceError):
    code = 1418
    status = 400
    title = "Resource in use"


class ConnectorError(FlowServiceError):
    """A source system failed; ``retryable`` says whether trying again may help."""

    code = 1001
    status = 500
    title = "Source connector error"
    retryable = False


class SourceConfigError(ConnectorError):
    """The connection's settings are wrong (credentials, database, TLS ...)."""


class TransientSourceError(ConnectorError):
    """Worth retrying: network failures, timeouts, deadlocks."""

    retryable = True


class SourceSystemError(ConnectorError):
    """The source failed in a way neither the user nor a retry can fix."""


class LakeError(FlowServiceError):
    code = 2001
    status = 500
    title = "Data lake error"


class SchemaMismatch(LakeError):
    code = 1425
    status = 400
    title = "Schema mismatch"


class InternalError(FlowServiceError):
    code = 1102
    status = 500
    title = "Internal server error"
