"""``AsyncClient``: the same surface as ``Client``, awaitable, over ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import httpx
from pydantic import SecretStr

from flowservice.client import actions
from flowservice.client import operations as ops
from flowservice.client.downloads import Destination, opened
from flowservice.client.errors import error_from_response, transport_error
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
    DatasetFile,
    Explored,
    Flow,
    FlowSpec,
    MappingSet,
    Model,
    Run,
    RunErrors,
    Sandbox,
    SourceConnection,
    TargetConnection,
    run_errors,
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

    async def enable(self, flow_id: str) -> Created:
        return await self._client.execute(actions.flow_action_op(flow_id, "enable"))

    async def disable(self, flow_id: str) -> Created:
        return await self._client.execute(actions.flow_action_op(flow_id, "disable"))


class AsyncConnections(AsyncWritable[Connection]):
    """As ``Client.connections``: also test, explore, describe and preview."""

    async def test(self, connection_id: str) -> dict[str, Any]:
        return await self._client.execute(actions.test_connection_op(connection_id))

    async def explore(self, connection_id: str) -> list[Explored]:
        return await self._client.execute(actions.explore_root_op(connection_id))

    async def describe(self, connection_id: str, table: str) -> dict[str, Any]:
        return await self._client.execute(actions.explore_table_op(connection_id, table))

    async def preview(self, connection_id: str, table: str, *, count: int = 100) -> dict[str, Any]:
        op = actions.explore_table_op(connection_id, table, preview=count)
        return await self._client.execute(op)


class AsyncRuns(AsyncCollection[Run]):
    """As ``Client.runs``: also cancel and errors."""

    async def cancel(self, run_id: str) -> Created:
        return await self._client.execute(actions.cancel_run_op(run_id))

    async def errors(self, run_id: str) -> RunErrors:
        run = await self.get(run_id)
        records: list[dict[str, Any]] = []
        for batch_id in actions.batch_ids_of(run.activities):
            for href in await self._client.execute(actions.failed_files_op(batch_id)):
                downloaded = await self._client.execute(actions.download_records_op(href))
                records.extend(downloaded)
        return RunErrors(
            run_id=run.id, status=run.status, errors=run_errors(run), failed_records=records
        )


class AsyncDatasets(AsyncWritable[Dataset]):
    async def preview(self, dataset_id: str, *, limit: int = 100) -> dict[str, Any]:
        return await self._client.execute(actions.dataset_preview_op(dataset_id, limit=limit))

    async def export(self, dataset_id: str, file_format: str, destination: Destination) -> int:
        """As ``Client.datasets.export``: the dataset as one file, streamed into ``destination``."""
        op = actions.dataset_export_op(dataset_id, file_format)
        return await self._client.download(op, destination)


class AsyncBatches(AsyncCollection[Batch]):
    """As ``Client.batches``: also their dataset files."""

    async def files(self, batch_id: str) -> list[DatasetFile]:
        found: list[DatasetFile] = []
        op: ops.Operation[ops.Page[DatasetFile]] | None = actions.batch_files_page_op(batch_id)
        while op is not None:
            page = await self._client.execute(op)
            found += page.items
            op = page.next
        return found


class AsyncFiles:
    """As ``Client.files``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def names(self, dataset_file_id: str) -> list[str]:
        return await self._client.execute(actions.file_names_op(dataset_file_id))

    async def download(self, dataset_file_id: str, destination: Destination) -> int:
        (name,) = await self.names(dataset_file_id)
        op = actions.file_download_op(dataset_file_id, name)
        return await self._client.download(op, destination)


class AsyncMappingSets:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> AsyncIterator[MappingSet]:
        op: ops.Operation[ops.Page[MappingSet]] | None = actions.mapping_sets_page_op()
        while op is not None:
            page = await self._client.execute(op)
            for item in page.items:
                yield item
            op = page.next

    async def get(self, mapping_set_id: str) -> MappingSet:
        return await self._client.execute(actions.mapping_set_op(mapping_set_id))

    async def create(self, body: Mapping[str, Any]) -> Created:
        return await self._client.execute(actions.create_mapping_set_op(body))


class AsyncSandboxes:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[Sandbox]:
        return await self._client.execute(actions.sandboxes_op())


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
        self.connections = AsyncConnections(self, ops.CONNECTIONS)
        self.connection_specs = AsyncCollection[ConnectionSpec](self, ops.CONNECTION_SPECS)
        self.source_connections = AsyncWritable[SourceConnection](self, ops.SOURCE_CONNECTIONS)
        self.target_connections = AsyncWritable[TargetConnection](self, ops.TARGET_CONNECTIONS)
        self.flows = AsyncFlows(self, ops.FLOWS)
        self.flow_specs = AsyncCollection[FlowSpec](self, ops.FLOW_SPECS)
        self.runs = AsyncRuns(self, ops.RUNS)
        self.datasets = AsyncDatasets(self, ops.DATASETS)
        self.batches = AsyncBatches(self, ops.BATCHES)
        self.files = AsyncFiles(self)
        self.mapping_sets = AsyncMappingSets(self)
        self.sandboxes = AsyncSandboxes(self)

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
        response = await self._send(op, stream=False)
        return read_answer(op, response, self._credentials)

    async def download(self, op: ops.Operation[None], destination: Destination) -> int:
        """Send ``op`` and copy its answer into ``destination`` as it arrives; bytes written.

        Retried as ``execute`` is until the answer starts; a failure after that is raised
        (and a path destination is left as it was)."""
        response = await self._send(op, stream=True)
        try:
            if not response.is_success:
                await response.aread()
                raise error_from_response(response, self._credentials.secrets)
            written = 0
            with opened(destination) as sink:
                try:
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
                        written += len(chunk)
                except httpx.TransportError as exc:
                    secrets = self._credentials.secrets
                    raise transport_error(response.request, exc, secrets) from exc
            return written
        finally:
            await response.aclose()

    async def _send(self, op: ops.Operation[T], *, stream: bool) -> httpx.Response:
        """The answer to ``op`` once retrying is over (a streamed one's body still unread)."""
        request = build_request(self._http, self._credentials, op)
        state = start_retries(self.retry, op, time.monotonic())
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = state.after_transport_error(time.monotonic())
                if delay is None:
                    raise transport_error(request, exc, self._credentials.secrets) from exc
                log_retry(request, type(exc).__name__, delay, state)
            else:
                delay = retry_delay(state, response, time.monotonic())
                if delay is None:
                    return response
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
