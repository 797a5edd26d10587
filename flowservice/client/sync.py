"""``Client``: the blocking SDK over ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
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

    def enable(self, flow_id: str) -> Created:
        """``POST /flows/{id}/action?op=enable``: runs start on schedule again."""
        return self._client.execute(actions.flow_action_op(flow_id, "enable"))

    def disable(self, flow_id: str) -> Created:
        """Stop scheduling runs; runs waiting for their start time are cancelled."""
        return self._client.execute(actions.flow_action_op(flow_id, "disable"))


class Connections(Writable[Connection]):
    """Base connections: also test, explore (tables, columns) and preview a source table."""

    def test(self, connection_id: str) -> dict[str, Any]:
        """``{"result": True}`` when the source answers, else ``result`` False and a ``message``."""
        return self._client.execute(actions.test_connection_op(connection_id))

    def explore(self, connection_id: str) -> list[Explored]:
        """The tables the connection can read (``path`` is ``schema.table``)."""
        return self._client.execute(actions.explore_root_op(connection_id))

    def describe(self, connection_id: str, table: str) -> dict[str, Any]:
        """A table's ``schema`` (``columns``, ``primaryKey``)."""
        return self._client.execute(actions.explore_table_op(connection_id, table))

    def preview(self, connection_id: str, table: str, *, count: int = 100) -> dict[str, Any]:
        """A table's ``schema`` and its first ``count`` rows (``data``)."""
        return self._client.execute(actions.explore_table_op(connection_id, table, preview=count))


class Runs(Collection[Run]):
    """Runs: also cancel, and why a run failed."""

    def cancel(self, run_id: str) -> Created:
        """``POST /runs/{id}/action?op=cancel``."""
        return self._client.execute(actions.cancel_run_op(run_id))

    def errors(self, run_id: str) -> RunErrors:
        """The run's errors and the failed records of its batches (Data Access)."""
        run = self.get(run_id)
        records: list[dict[str, Any]] = []
        for batch_id in actions.batch_ids_of(run.activities):
            for href in self._client.execute(actions.failed_files_op(batch_id)):
                downloaded = self._client.execute(actions.download_records_op(href))
                records.extend(downloaded)
        return RunErrors(
            run_id=run.id, status=run.status, errors=run_errors(run), failed_records=records
        )


class Datasets(Writable[Dataset]):
    """Catalog datasets: also a preview of the first rows."""

    def preview(self, dataset_id: str, *, limit: int = 100) -> dict[str, Any]:
        """``{"data": [rows], "count": n, "fields": [...]}``, at most 1000 rows."""
        return self._client.execute(actions.dataset_preview_op(dataset_id, limit=limit))

    def export(self, dataset_id: str, file_format: str, destination: Destination) -> int:
        """Every current row as one ``parquet`` or ``csv`` file, streamed into ``destination``
        (a path, or an open binary file); the bytes written."""
        op = actions.dataset_export_op(dataset_id, file_format)
        return self._client.download(op, destination)


class Batches(Collection[Batch]):
    """Catalog batches: also their dataset files (Data Access)."""

    def files(self, batch_id: str) -> list[DatasetFile]:
        """One dataset file per Parquet file the batch wrote; ``client.files.download`` gets one."""
        found: list[DatasetFile] = []
        op: ops.Operation[ops.Page[DatasetFile]] | None = actions.batch_files_page_op(batch_id)
        while op is not None:
            page = self._client.execute(op)
            found += page.items
            op = page.next
        return found


class Files:
    """Data Access dataset files (``/files/{id}``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def names(self, dataset_file_id: str) -> list[str]:
        """The file names behind a dataset file id (one Parquet file)."""
        return self._client.execute(actions.file_names_op(dataset_file_id))

    def download(self, dataset_file_id: str, destination: Destination) -> int:
        """The dataset file's Parquet bytes, streamed into ``destination``; the bytes written."""
        (name,) = self.names(dataset_file_id)
        op = actions.file_download_op(dataset_file_id, name)
        return self._client.download(op, destination)


class MappingSets:
    """Data Prep mapping sets: ``list``, ``get``, ``create``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> Iterator[MappingSet]:
        op: ops.Operation[ops.Page[MappingSet]] | None = actions.mapping_sets_page_op()
        while op is not None:
            page = self._client.execute(op)
            yield from page.items
            op = page.next

    def get(self, mapping_set_id: str) -> MappingSet:
        return self._client.execute(actions.mapping_set_op(mapping_set_id))

    def create(self, body: Mapping[str, Any]) -> Created:
        return self._client.execute(actions.create_mapping_set_op(body))


class Sandboxes:
    """The sandboxes of the caller's org."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[Sandbox]:
        return self._client.execute(actions.sandboxes_op())


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
        self.connections = Connections(self, ops.CONNECTIONS)
        self.connection_specs = Collection[ConnectionSpec](self, ops.CONNECTION_SPECS)
        self.source_connections = Writable[SourceConnection](self, ops.SOURCE_CONNECTIONS)
        self.target_connections = Writable[TargetConnection](self, ops.TARGET_CONNECTIONS)
        self.flows = Flows(self, ops.FLOWS)
        self.flow_specs = Collection[FlowSpec](self, ops.FLOW_SPECS)
        self.runs = Runs(self, ops.RUNS)
        self.datasets = Datasets(self, ops.DATASETS)
        self.batches = Batches(self, ops.BATCHES)
        self.files = Files(self)
        self.mapping_sets = MappingSets(self)
        self.sandboxes = Sandboxes(self)

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
        response = self._send(op, stream=False)
        return read_answer(op, response, self._credentials)

    def download(self, op: ops.Operation[None], destination: Destination) -> int:
        """Send ``op`` and copy its answer into ``destination`` as it arrives; bytes written.

        Retried as ``execute`` is until the answer starts; a failure after that is raised
        (and a path destination is left as it was)."""
        response = self._send(op, stream=True)
        try:
            if not response.is_success:
                response.read()
                raise error_from_response(response, self._credentials.secrets)
            written = 0
            with opened(destination) as sink:
                try:
                    for chunk in response.iter_bytes():
                        sink.write(chunk)
                        written += len(chunk)
                except httpx.TransportError as exc:
                    secrets = self._credentials.secrets
                    raise transport_error(response.request, exc, secrets) from exc
            return written
        finally:
            response.close()

    def _send(self, op: ops.Operation[T], *, stream: bool) -> httpx.Response:
        """The answer to ``op`` once retrying is over (a streamed one's body still unread)."""
        request = build_request(self._http, self._credentials, op)
        state = start_retries(self.retry, op, time.monotonic())
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = state.after_transport_error(time.monotonic())
                if delay is None:
                    raise transport_error(request, exc, self._credentials.secrets) from exc
                log_retry(request, type(exc).__name__, delay, state)
            else:
                delay = retry_delay(state, response, time.monotonic())
                if delay is None:
                    return response
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
