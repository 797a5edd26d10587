"""``AsyncClient``: the same surface as ``Client``, awaitable, over ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
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


class AsyncCollection(Generic[M]):
    """Read access to one collection: ``list`` (``async for``, every page) and ``get``."""

    def __init__(self, client: AsyncClient, kind: ops.Kind[M]) -> None:
        self._client = client
        self._kind = kind

    async def list(
        self,
        *,
        filters: Sequence[str] = (),
        order: str | None = None,
        page_size: int | None = None,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[M]:
        """As ``Client``'s ``list``: every matching item, page after page."""
        op: ops.Operation[ops.Page[M]] | None = self._kind.list_op(
            filters=filters, order=order, page_size=page_size, extra=params
        )
        while op is not None:
            page = await self._client.execute(op)
            for item in page.items:
                yield item
            op = page.next

    async def get(self, resource_id: str) -> M:
        return await self._client.execute(self._kind.get_op(resource_id))


class AsyncWritable(AsyncCollection[M]):
    async def create(self, body: Mapping[str, Any], *, idempotent: bool = False) -> Created:
        """POST the documented body; never retried unless ``idempotent`` vouches for it."""
        return await self._client.execute(self._kind.create_op(body, idempotent=idempotent))

    async def delete(self, resource_id: str) -> None:
        await self._client.execute(self._kind.delete_op(resource_id))


class AsyncFlows(AsyncWritable[Flow]):
    async def patch(
        self,
        flow_id: str,
        operations: Sequence[Mapping[str, Any]],
        *,
        etag: str | None = None,
    ) -> Created:
        """Apply a JSON Patch; without ``etag`` the flow's current one is read first."""
        current = etag if etag is not None else (await self.get(flow_id)).etag
        op = self._kind.patch_op(flow_id, operations, etag=current or "")
        return await self._client.execute(op)

    async def run(
        self, flow_id: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> Run:
        return await self._client.execute(ops.run_flow_op(flow_id, params, idempotent=idempotent))


class AsyncClient:
    """``Client``'s twin for asyncio: ``async with AsyncClient(...) as client``."""

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._credentials = Credentials(SecretStr(token), SecretStr(api_key), org, sandbox)
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self.connections = AsyncWritable[Connection](self, ops.CONNECTIONS)
        self.connection_specs = AsyncCollection[ConnectionSpec](self, ops.CONNECTION_SPECS)
        self.source_connections = AsyncWritable[SourceConnection](self, ops.SOURCE_CONNECTIONS)
        self.target_connections = AsyncWritable[TargetConnection](self, ops.TARGET_CONNECTIONS)
        self.flows = AsyncFlows(self, ops.FLOWS)
        self.flow_specs = AsyncCollection[FlowSpec](self, ops.FLOW_SPECS)
        self.runs = AsyncCollection[Run](self, ops.RUNS)
        self.datasets = AsyncWritable[Dataset](self, ops.DATASETS)
        self.batches = AsyncCollection[Batch](self, ops.BATCHES)

    @property
    def org(self) -> str:
        return self._credentials.org

    @property
    def sandbox(self) -> str:
        return self._credentials.sandbox

    def __repr__(self) -> str:
        return (
            f"AsyncClient(base_url={self.base_url!r}, org={self.org!r}, sandbox={self.sandbox!r})"
        )

    async def execute(self, op: ops.Operation[T]) -> T:
        """Send one operation, retrying as the policy allows; its result or the error."""
        request = build_request(self._http, self._credentials, op)
        state = start_retries(self.retry, op, time.monotonic())
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                delay = state.after_transport_error(time.monotonic())
                if delay is None:
                    raise transport_error(request, exc, self._credentials.secrets) from exc
                log_retry(request, type(exc).__name__, delay, state)
            else:
                delay = retry_delay(state, response, time.monotonic())
                if delay is None:
                    return read_answer(op, response, self._credentials)
                await response.aclose()
                log_retry(request, f"answered {response.status_code}", delay, state)
            await asyncio.sleep(delay)

    async def wait_for_run(
        self, run_id: str, *, timeout: float = 600.0, poll_interval: float = 2.0
    ) -> Run:
        """The run once it is ``success``, ``failed`` or ``cancelled``; ``RunTimeout`` if later."""
        deadline = time.monotonic() + timeout
        while True:
            run = await self.runs.get(run_id)
            if run.finished:
                return run
            left = deadline - time.monotonic()
            if left <= 0:
                raise run_timeout(run, timeout)
            await asyncio.sleep(min(poll_interval, left))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
