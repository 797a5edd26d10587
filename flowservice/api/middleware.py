"""ASGI middleware: a request id on every response, a body size cap, a last-resort 500."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowservice.api.errors import error_response, unexpected_error
from flowservice.errors import InvalidRequest

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLarge(InvalidRequest):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body exceeds the limit of {limit} bytes.")


class NulInRequest(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("The request path or query contains a NUL character (%00).")


class RequestContextMiddleware:
    """Assigns ``x-request-id``, enforces the body cap and turns crashes into a 500."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                raw.append((b"x-request-id", request_id.encode()))
                message["headers"] = raw
            await send(message)

        # PostgreSQL cannot compare or store U+0000: refuse it before it reaches a query
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await self._respond(error_response(NulInRequest(), request_id), scope, receive, send)
            return

        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._respond(
                error_response(BodyTooLarge(self.max_body_bytes), request_id), scope, receive, send
            )
            return

        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        try:
            await self.app(scope, capped_receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            await self._respond(unexpected_error(request_id, exc), scope, receive, send)

    @staticmethod
    async def _respond(response: Any, scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, send)
