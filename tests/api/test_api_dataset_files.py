"""Data Access dataset files (``/batches/{id}/files``, ``/files/{id}``) and the dataset export
extension (``/datasets/{id}/export``), over real HTTP against the lake the server writes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
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
from deltalake import DeltaTable
from openapi_contract import check_contract
from service_harness import ApiClient, new_org_id, problem_code, scope_of

from flowservice.api.runtime import Runtime
from flowservice.api.services.batches import record_batch
from flowservice.settings import EXPORT_PREFIX


def _export(api: ApiClient, url: str, **kwargs: Any) -> httpx.Response:
    response: httpx.Response = api.request("GET", url, prefix=EXPORT_PREFIX, **kwargs)
    return response


def _follow(api: ApiClient, href: str, **headers: str) -> httpx.Response:
    assert href.startswith(EXPORT_PREFIX)
    response: httpx.Response = api.http.get(href, headers=api.headers | headers)
    return response


def _table_dir(runtime: Runtime, api: ApiClient, dataset_id: str) -> Path:
    return Path(lake_dataset(runtime, api, dataset_id).location.uri)


def _download_batch(api: ApiClient, home: Path, batch_id: str) -> pa.Table:
    """Every dataset file of the batch, listed and downloaded; each equal to the lake's file."""
    listing = _export(api, f"/batches/{batch_id}/files")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    check_contract("data-access.yaml", "dataSetFiles", body)
    files = body["data"]
    assert files
    assert [f["dataSetFileId"] for f in files] == [
        f"{batch_id}-{n}" for n in range(1, len(files) + 1)
    ]
    downloaded = []
    for entry in files:
        assert entry["isValid"] is True
        directory = _follow(api, entry["_links"]["self"]["href"])
        assert directory.status_code == 200, directory.text
        check_contract("data-access.yaml", "metadata", directory.json())
        check_contract("data-access.yaml", "files", directory.json())
        (item,) = directory.json()["data"]
        content = _follow(api, item["_links"]["self"]["href"])
        assert content.status_code == 200
        assert content.headers["content-type"] == "application/octet-stream"
        assert content.content == (home / item["name"]).read_bytes()
        assert int(item["length"]) == len(content.content) == int(entry["size"])
        table = pq.read_table(io.BytesIO(content.content))
        assert table.num_rows == int(entry["records"])
        downloaded.append(table)
    return pa.concat_tables(downloaded).sort_by("id")


def test_batch_files_list_and_download_the_commits_parquet(
    api: ApiClient, runtime: Runtime
) -> None:
    dataset_id = new_dataset(api)
    first, second, merge = build_history(runtime, api, dataset_id)
    home = _table_dir(runtime, api, dataset_id)
    for batch_id, start in ((first, 0), (second, 3000)):
        # a batch's files hold exactly the rows it wrote, though the merge changed some later
        table = _download_batch(api, home, batch_id)
        assert table.equals(rows(start, 3000).cast(table.schema))
    # the merge's files: the copies of the files it rewrote and its changed rows
    merged = _download_batch(api, home, merge)
    current = current_rows(runtime, api, dataset_id)
    changed = current.filter(pc.is_in(current["id"], merged["id"]))
    assert merged.cast(current.schema).equals(changed)
    tagged = {r["id"] for r in merged.to_pylist() if (r["name"] or "").endswith("(changed)")}
    assert tagged == {i for i in range(2500, 3500) if i % 10 != 0 and i % 11 != 0}


def test_range_requests(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = new_dataset(api)
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(0, 500))
    (entry,) = _export(api, f"/batches/{batch.id}/files").json()["data"]
    (item,) = _follow(api, entry["_links"]["self"]["href"]).json()["data"]
    href = item["_links"]["self"]["href"]
    whole = _follow(api, href).content
    size = len(whole)
    assert size > 200
    head = _follow(api, href, Range="bytes=0-99")
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-99/{size}"
    assert head.content == whole[:100]
    middle = _follow(api, href, Range=f"bytes=100-{size + 50}")
    assert middle.status_code == 206 and middle.content == whole[100:]
    tail = _follow(api, href, Range="bytes=-10")
    assert tail.status_code == 206 and tail.content == whole[-10:]
    assert tail.headers["content-length"] == "10"
    # a range the server will not serve is ignored: the whole file
    for ignored in ("bytes=5-2", f"bytes={size}-", "lines=1-2", "bytes=0-1,5-6"):
        answer = _follow(api, href, Range=ignored)
        assert answer.status_code == 200 and answer.content == whole, ignored


def test_vacuumed_files_are_invalid_and_404(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = new_dataset(api)
    scope = scope_of(runtime, api)
    old = record_batch(runtime, scope, dataset_id, rows(0, 100))
    record_batch(runtime, scope, dataset_id, rows(100, 10), mode="overwrite")
    dataset = lake_dataset(runtime, api, dataset_id)
    DeltaTable(dataset.location.uri).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False
    )
    (entry,) = _export(api, f"/batches/{old.id}/files").json()["data"]
    assert entry["isValid"] is False
    (item,) = _follow(api, entry["_links"]["self"]["href"]).json()["data"]
    gone = _follow(api, item["_links"]["self"]["href"])
    assert problem_code(gone) == "FLOW-1101-404"
    assert "vacuumed" in gone.json()["report"]["detailed-message"]


@pytest.mark.parametrize("suffix", ["-0", "-2", "-x", "", "-1/../x"])
def test_unknown_dataset_files_are_404(api: ApiClient, runtime: Runtime, suffix: str) -> None:
    dataset_id = new_dataset(api)
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(0, 10))
    answer = _export(api, f"/files/{batch.id}{suffix}")
    assert answer.status_code == 404
    wrong_path = _export(api, f"/files/{batch.id}-1", params={"path": "../../etc/passwd"})
    assert problem_code(wrong_path) == "FLOW-1101-404"


def test_another_org_gets_404(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = new_dataset(api)
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(0, 10))
    (entry,) = _export(api, f"/batches/{batch.id}/files").json()["data"]
    (item,) = _follow(api, entry["_links"]["self"]["href"]).json()["data"]
    outsider = api.as_other(org_id=new_org_id(), client_id=api.client_id + "-x")
    try:
        for url in (
            f"/batches/{batch.id}/files",
            f"/files/{batch.id}-1",
            f"/datasets/{dataset_id}/export",
        ):
            assert problem_code(_export(outsider, url)) == "FLOW-1101-404", url
        stolen = _follow(outsider, item["_links"]["self"]["href"])
        assert problem_code(stolen) == "FLOW-1101-404"
    finally:
        outsider.close()


def test_batch_files_page(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = new_dataset(api)
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(0, 10))
    first = _export(api, f"/batches/{batch.id}/files", params={"limit": "1"}).json()
    assert first["_page"] == {"limit": 1, "count": 1} and first["_links"] == {}
    empty = _export(api, f"/batches/{batch.id}/files", params={"start": "1"}).json()
    assert empty["data"] == []
    for params in ({"limit": "0"}, {"limit": "101"}, {"start": "-1"}):
        assert _export(api, f"/batches/{batch.id}/files", params=params).status_code == 400


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_export_equals_the_current_rows(api: ApiClient, runtime: Runtime, file_format: str) -> None:
    dataset_id = new_dataset(api)
    build_history(runtime, api, dataset_id)
    expected = current_rows(runtime, api, dataset_id)
    assert expected.num_rows == 5_900  # 6,000 written, 100 deleted by the merge, 0 new
    answer = _export(api, f"/datasets/{dataset_id}/export", params={"format": file_format})
    assert answer.status_code == 200, answer.text
    assert dataset_id in answer.headers["content-disposition"]
    if file_format == "parquet":
        assert answer.headers["content-type"] == "application/vnd.apache.parquet"
        assert read_parquet(answer.content).equals(expected)
    else:
        assert answer.headers["content-type"].startswith("text/csv")
        assert read_csv(answer.content).equals(csv_expected(expected))


def test_export_of_an_empty_dataset(api: ApiClient) -> None:
    dataset_id = new_dataset(api)
    answer = _export(api, f"/datasets/{dataset_id}/export", params={"format": "parquet"})
    assert answer.status_code == 200
    assert pq.read_table(io.BytesIO(answer.content)).num_rows == 0
    csv = _export(api, f"/datasets/{dataset_id}/export", params={"format": "csv"})
    assert csv.status_code == 200 and csv.content == b""


def test_unknown_format_and_dataset(api: ApiClient) -> None:
    dataset_id = new_dataset(api)
    bad = _export(api, f"/datasets/{dataset_id}/export", params={"format": "xlsx"})
    assert bad.status_code == 400
    assert problem_code(bad) == "FLOW-1100-400"
    assert "'parquet' or 'csv'" in bad.json()["report"]["detailed-message"]
    assert bad.json()["status"] == 400 and bad.json()["title"]
    missing = _export(api, "/datasets/nosuchdataset/export", params={"format": "csv"})
    assert problem_code(missing) == "FLOW-1101-404"
