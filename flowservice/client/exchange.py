"""The I/O-free half of sending an ``Operation``: headers, request, answer, retry log.

``Client`` and ``AsyncClient`` each add only the sending and the sleeping.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from pydantic import SecretStr

from flowservice.client.errors import RunTimeout, error_from_response, retry_after_seconds
from flowservice.client.models import Run
from flowservice.client.operations import Operation
from flowservice.client.retry import RetryPolicy, RetryState, may_retry

T = TypeVar("T")

log = logging.getLogger("flowservice.client")


@dataclass(frozen=True)
class Credentials:
    """Who is calling: the documented headers' values. ``repr`` shows no secret."""

    token: SecretStr
    api_key: SecretStr
    org: str
    sandbox: str = "prod"
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        # the API key is a client id, sent in the clear beside every request and printed by
        # `auth token`: masking it would garble messages that happen to contain a short one
        return (self.token.get_secret_value(),)

    def headers(self) -> dict[str, str]:
        return {
            **self.extra_headers,
            "Authorization": f"Bearer {self.token.get_secret_value()}",
            "x-api-key": self.api_key.get_secret_value(),
            "x-gw-ims-org-id": self.org,
            "x-sandbox-name": self.sandbox,
            "Accept": "application/json",
        }


def build_request(
    http: httpx.Client | httpx.AsyncClient, credentials: Credentials, op: Operation[T]
) -> httpx.Request:
    """The request, with one ``x-request-id`` kept across its retries (to find it in logs)."""
    headers = {**credentials.headers(), "x-request-id": str(uuid.uuid4()), **op.headers}
    if op.json is not None and "Content-Type" not in op.headers:
        headers["Content-Type"] = "application/json"
    return http.build_request(
        op.method, op.path, params=list(op.params), json=op.json, headers=headers
    )


def start_retries(policy: RetryPolicy, op: Operation[T], now: float) -> RetryState:
    return RetryState(policy, retryable=may_retry(op.method, op.idempotent), started=now)


def retry_delay(state: RetryState, response: httpx.Response, now: float) -> float | None:
    """The wait before sending again after ``response``, or None when it is the answer."""
    if response.is_success:
        return None
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return state.after_status(response.status_code, retry_after, now)


def read_answer(op: Operation[T], response: httpx.Response, credentials: Credentials) -> T:
    """The operation's result, or the service's error raised as the SDK's exception."""
    if response.is_success:
        return op.read(response)
    raise error_from_response(response, credentials.secrets)


def log_retry(request: httpx.Request, why: str, delay: float, state: RetryState) -> None:
    # method and path only: the query may hold filters, headers hold the token
    log.warning(
        "%s %s: %s; retry %d of %d in %.2fs (request id %s)",
        request.method,
        request.url.path,
        why,
        state.attempts - 1,
        state.policy.max_attempts - 1,
        delay,
        request.headers.get("x-request-id"),
    )


def run_timeout(run: Run, timeout: float) -> RunTimeout:
    return RunTimeout(
        f"run {run.id} is still {run.status} after {timeout:g}s", run_id=run.id, state=run.status
    )
