"""The SDK's streamed downloads: ``datasets.export`` and ``batches.files``/``files.download``,
sync and async, against the live server."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_exports import (
    build_history,
    csv_expected,
    current_rows,
    lake_dataset,
    new_dataset,
    read_csv,
    read_parquet,
    rows,
)
from service_harness import ApiClient, scope_of

from flowservice.api.runtime import Runtime
from flowservice.api.services.batches import record_batch
from flowservice.client import AsyncClient, BadRequest, Client, NotFound, actions


def test_export_streams_the_whole_dataset(
    api: ApiClient, runtime: Runtime, client: Client, tmp_path: Path
) -> None:
    dataset_id = new_dataset(api)
    build_history(runtime, api, dataset_id)
    expected = current_rows(runtime, api, dataset_id)
    out = tmp_path / "all.parquet"
    written = client.datasets.export(dataset_id, "parquet", out)
    assert written == out.stat().st_size
    assert read_parquet(out.read_bytes()).equals(expected)
    sink = io.BytesIO()
    client.datasets.export(dataset_id, "csv", sink)
    assert read_csv(sink.getvalue()).equals(csv_expected(expected))
    assert not list(tmp_path.glob("*.part"))


def test_export_errors_leave_no_file(api: ApiClient, client: Client, tmp_path: Path) -> None:
    out = tmp_path / "missing.csv"
    with pytest.raises(NotFound):
        client.datasets.export("nosuchdataset", "csv", out)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="format"):
        client.datasets.export("x", "xlsx", out)
    dataset_id = new_dataset(api)
    with pytest.raises(BadRequest):
        # the server's check, reached when the client's is bypassed
        op = actions.dataset_export_op(dataset_id, "csv")
        bad = type(op)(op.method, op.path, op.read, params=(("format", "xlsx"),))
        client.download(bad, out)
    assert not out.exists()


def test_batch_files_download(
    api: ApiClient, runtime: Runtime, client: Client, tmp_path: Path
) -> None:
    dataset_id = new_dataset(api)
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(0, 2000))
    files = client.batches.files(batch.id)
    assert [f.id for f in files] == [f"{batch.id}-{n}" for n in range(1, len(files) + 1)]
    home = Path(lake_dataset(runtime, api, dataset_id).location.uri)
    tables = []
    for n, dataset_file in enumerate(files):
        out = tmp_path / f"{n}.parquet"
        assert client.files.download(dataset_file.id, out) == int(dataset_file.size or 0)
        (name,) = client.files.names(dataset_file.id)
        assert out.read_bytes() == (home / name).read_bytes()
        tables.append(pq.read_table(out))
    table = pa.concat_tables(tables).sort_by("id")
    assert table.equals(rows(0, 2000).cast(table.schema))
    with pytest.raises(NotFound):
        client.files.download(f"{batch.id}-99", tmp_path / "none.parquet")


def test_async_twins(api: ApiClient, runtime: Runtime, tmp_path: Path) -> None:
    dataset_id = new_dataset(api)
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(0, 1500))

    async def main() -> tuple[int, list[str]]:
        async with AsyncClient(
            api.server.base_url,
            token=api.token,
            api_key=api.client_id,
            org=api.org_id,
            sandbox=api.sandbox,
        ) as client:
            written = await client.datasets.export(dataset_id, "csv", tmp_path / "a.csv")
            files = await client.batches.files(batch.id)
            for n, dataset_file in enumerate(files):
                await client.files.download(dataset_file.id, tmp_path / f"{n}.parquet")
            with pytest.raises(NotFound):
                await client.datasets.export("nosuchdataset", "csv", tmp_path / "b.csv")
            return written, [f.id for f in files]

    written, ids = asyncio.run(main())
    assert written == (tmp_path / "a.csv").stat().st_size
    assert read_csv((tmp_path / "a.csv").read_bytes()).num_rows == 1500
    downloaded = pa.concat_tables(pq.read_table(tmp_path / f"{n}.parquet") for n in range(len(ids)))
    assert downloaded.num_rows == 1500
    assert not (tmp_path / "b.csv").exists()
