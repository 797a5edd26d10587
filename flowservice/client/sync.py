"""``Client``: the blocking SDK over ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import httpx
from pydantic import SecretStr

from flowservice.client import operations as ops
from flowservice.client.errors import transport_error
from flowservice.client.exchange import (
    Credentials,
    build_request,
    log_retry,
    read_answer,
    retry_delay,
    run_timeout,
    start_retries,
)
from flowservice.client.models import (
    Batch,
    Connection,
    ConnectionSpec,
    Created,
    Dataset,
    Flow,
    FlowSpec,
    Model,
    Run,
    SourceConnection,
    TargetConnection,
)
from flowservice.client.retry import RetryPolicy

T = TypeVar("T")
M = TypeVar("M", bound=Model)


class Collection(Generic[M]):
    """Read access to one collection: ``list`` (every page, lazily) and ``get``."""

    def __init__(self, client: Client, kind: ops.Kind[M]) -> None:
        self._client = client
        self._kind = kind

    def list(
        self,
        *,
        filters: Sequence[str] = (),
        order: str | None = None,
        page_size: int | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Iterator[M]:
        """Every item matching ``filters`` (``property`` expressions), page after page.

        ``page_size`` is the ``limit`` of each request, not a cap on the items;
        ``params`` adds other query parameters (e.g. the Catalog's ``dataSet``).
        """
        op: ops.Operation[ops.Page[M]] | None = self._kind.list_op(
            filters=filters, order=order, page_size=page_size, extra=params
        )
        while op is not None:
            page = self._client.execute(op)
            yield from page.items
            op = page.next

    def get(self, resource_id: str) -> M:
        return self._client.execute(self._kind.get_op(resource_id))


class Writable(Collection[M]):
    """A collection the caller creates and deletes in."""

    def create(self, body: Mapping[str, Any], *, idempotent: bool = False) -> Created:
        """POST the documented body; never retried unless ``idempotent`` vouches for it."""
        return self._client.execute(self._kind.create_op(body, idempotent=idempotent))

    def delete(self, resource_id: str) -> None:
        self._client.execute(self._kind.delete_op(resource_id))


class Flows(Writable[Flow]):
    """Dataflows: also PATCH and run."""

    def patch(
        self,
        flow_id: str,
        operations: Sequence[Mapping[str, Any]],
        *,
        etag: str | None = None,
    ) -> Created:
        """Apply a JSON Patch; without ``etag`` the flow's current one is read first."""
        current = etag if etag is not None else self.get(flow_id).etag
        return self._client.execute(self._kind.patch_op(flow_id, operations, etag=current or ""))

    def run(
        self, flow_id: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> Run:
        """Start a run now (``POST /runs``); ``params`` as the docs' window parameters."""
        return self._client.execute(ops.run_flow_op(flow_id, params, idempotent=idempotent))


class Client:
    """The Flow Service and Catalog APIs of one org and sandbox, over HTTP."""

    def __init__(
        self,
        base_url: str,
        token: str,
        api_key: str,
        org: str,
        sandbox: str = "prod",
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._credentials = Credentials(SecretStr(token), SecretStr(api_key), org, sandbox)
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self.connections = Writable[Connection](self, ops.CONNECTIONS)
        self.connection_specs = Collection[ConnectionSpec](self, ops.CONNECTION_SPECS)
        self.source_connections = Writable[SourceConnection](self, ops.SOURCE_CONNECTIONS)
        self.target_connections = Writable[TargetConnection](self, ops.TARGET_CONNECTIONS)
        self.flows = Flows(self, ops.FLOWS)
        self.flow_specs = Collection[FlowSpec](self, ops.FLOW_SPECS)
        self.runs = Collection[Run](self, ops.RUNS)
        self.datasets = Writable[Dataset](self, ops.DATASETS)
        self.batches = Collection[Batch](self, ops.BATCHES)

    @property
    def org(self) -> str:
        return self._credentials.org

    @property
    def sandbox(self) -> str:
        return self._credentials.sandbox

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, org={self.org!r}, sandbox={self.sandbox!r})"

    def execute(self, op: ops.Operation[T]) -> T:
        """Send one operation, retrying as the policy allows; its result or the error."""
        request = build_request(self._http, self._credentials, op)
        state = start_retries(self.retry, op, time.monotonic())
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                delay = state.after_transport_error(time.monotonic())
                if delay is None:
                    raise transport_error(request, exc, self._credentials.secrets) from exc
                log_retry(request, type(exc).__name__, delay, state)
            else:
                delay = retry_delay(state, response, time.monotonic())
                if delay is None:
                    return read_answer(op, response, self._credentials)
                response.close()
                log_retry(request, f"answered {response.status_code}", delay, state)
            time.sleep(delay)

    def wait_for_run(
        self, run_id: str, *, timeout: float = 600.0, poll_interval: float = 2.0
    ) -> Run:
        """The run once it is ``success``, ``failed`` or ``cancelled``; ``RunTimeout`` if later."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.runs.get(run_id)
            if run.finished:
                return run
            left = deadline - time.monotonic()
            if left <= 0:
                raise run_timeout(run, timeout)
            time.sleep(min(poll_interval, left))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
