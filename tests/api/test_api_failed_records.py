"""Data Access: a batch's failed records and meta files, their retention and isolation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pyarrow as pa
import pytest
from openapi_contract import check_contract
from pydantic import ValidationError
from service_harness import ApiClient, new_org_id, problem_code, scope_of

from flowservice.api.runtime import Runtime
from flowservice.api.services import datasets
from flowservice.api.services.batches import record_batch
from flowservice.lake import LakeLocation
from flowservice.lake.failed_records import (
    DAY_MS,
    FAILED_DIR,
    RECORDS_FILE,
    read_manifest,
    write_failed_records,
)
from flowservice.settings import CATALOG_PREFIX, EXPORT_PREFIX, Settings
from flowservice.store.db import now_ms
from flowservice.store.repos import resources

LINES = [
    {
        "row": 4,
        "record": {"id": 5, "when": "soon"},
        "errors": [{"mapping": 1, "destination": "shipped", "reason": "'soon' is not a date"}],
    },
    {
        "row": 9,
        "record": {"id": 10, "when": None},
        "errors": [{"mapping": 1, "destination": "shipped", "reason": "required"}],
    },
]


def _export(api: ApiClient, url: str, **params: str) -> httpx.Response:
    response: httpx.Response = api.request("GET", url, prefix=EXPORT_PREFIX, params=params)
    return response


def _batch(api: ApiClient, runtime: Runtime, *, failed: int = 0) -> tuple[str, LakeLocation]:
    """A recorded batch of a new dataset, and the dataset's lake location."""
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json={"name": "orders"})
    dataset_id = made.json()[0].removeprefix("@/dataSets/")
    scope = scope_of(runtime, api)
    rows = pa.table({"id": pa.array([1, 2], pa.int64())})
    batch = record_batch(runtime, scope, dataset_id, rows, failed_record_count=failed)
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=datasets.KIND, resource_id=dataset_id
        )
        location = datasets.dataset_of(runtime.settings, scope, row).location
    return batch.id, location


def _keep(location: LakeLocation, batch_id: str, *, age_days: float = 0) -> None:
    write_failed_records(
        location,
        batch_id,
        [json.dumps(line).encode() + b"\n" for line in LINES],
        failed_count=7,
        input_count=20,
        table="sales.Orders",
        created_ms=now_ms() - int(age_days * DAY_MS),
    )


def _get_href(api: ApiClient, listing: dict[str, Any], index: int = 0) -> httpx.Response:
    href = listing["data"][index]["_links"]["self"]["href"]
    assert href.startswith(EXPORT_PREFIX)
    response: httpx.Response = api.http.get(href, headers=api.headers)
    return response


def test_failed_records_list_and_download(api: ApiClient, runtime: Runtime) -> None:
    batch_id, location = _batch(api, runtime, failed=7)
    _keep(location, batch_id)
    listing = _export(api, f"/batches/{batch_id}/failed")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    check_contract("data-access.yaml", "files", body)
    assert [e["name"] for e in body["data"]] == [RECORDS_FILE]
    assert body["_page"] == {"limit": 100, "count": 1}
    download = _get_href(api, body)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in download.text.splitlines()] == LINES
    assert body["data"][0]["length"] == str(len(download.content))


def test_meta_row_errors_input_files_and_sample(api: ApiClient, runtime: Runtime) -> None:
    batch_id, location = _batch(api, runtime, failed=7)
    _keep(location, batch_id)
    url = f"/batches/{batch_id}/meta"
    top = _export(api, url).json()
    check_contract("data-access.yaml", "files", top)
    assert [e["name"] for e in top["data"]] == [
        "row_errors",
        "input_files",
        "row_errors_sample.json",
    ]
    paged = _export(api, url, start="1", limit="1").json()
    assert [e["name"] for e in paged["data"]] == ["input_files"]
    assert paged["_page"] == {"limit": 1, "count": 1}
    row_errors = _export(api, url, path="row_errors").json()
    check_contract("data-access.yaml", "files", row_errors)
    lines = [json.loads(line) for line in _get_href(api, row_errors).text.splitlines()]
    assert lines == [{"row": x["row"], "errors": x["errors"]} for x in LINES]
    assert all("record" not in line for line in lines)
    sample = _export(api, url, path="row_errors_sample.json")
    assert sample.json() == lines
    inputs = _export(api, url, path="input_files").json()
    check_contract("data-access.yaml", "files", inputs)
    assert _get_href(api, inputs).json() == {
        "path": "sales.Orders",
        "recordCount": 20,
        "failedRecordCount": 7,
        "keptFailedRecordCount": 2,
    }


@pytest.mark.parametrize(
    "path", ["nosuch.json", f"../{FAILED_DIR}/manifest.json", "manifest.json", "row_errors/x"]
)
def test_unknown_files_are_404(api: ApiClient, runtime: Runtime, path: str) -> None:
    batch_id, location = _batch(api, runtime)
    _keep(location, batch_id)
    assert problem_code(_export(api, f"/batches/{batch_id}/failed", path=path)) == "FLOW-1101-404"
    assert problem_code(_export(api, f"/batches/{batch_id}/meta", path=path)) == "FLOW-1101-404"


def test_a_batch_without_failed_records_lists_nothing(api: ApiClient, runtime: Runtime) -> None:
    batch_id, _location = _batch(api, runtime)
    for url, params in (
        (f"/batches/{batch_id}/failed", {}),
        (f"/batches/{batch_id}/meta", {}),
        (f"/batches/{batch_id}/meta", {"path": "row_errors"}),
        (f"/batches/{batch_id}/meta", {"path": "input_files"}),
    ):
        answer = _export(api, url, **params)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == []
    missing = _export(api, f"/batches/{batch_id}/failed", path=RECORDS_FILE)
    assert problem_code(missing) == "FLOW-1101-404"


def test_unknown_and_foreign_batches_are_404(api: ApiClient, runtime: Runtime) -> None:
    for url in ("/batches/NOSUCH/failed", "/batches/NOSUCH/meta"):
        assert problem_code(_export(api, url)) == "FLOW-1101-404"
    batch_id, location = _batch(api, runtime)
    _keep(location, batch_id)
    outsider = api.as_other(org_id=new_org_id(), client_id=api.client_id + "-x")
    try:
        for url in (f"/batches/{batch_id}/failed", f"/batches/{batch_id}/meta"):
            assert problem_code(_export(outsider, url)) == "FLOW-1101-404"
        stolen = _export(outsider, f"/batches/{batch_id}/failed", path=RECORDS_FILE)
        assert problem_code(stolen) == "FLOW-1101-404"
    finally:
        outsider.close()


def test_bad_paging_is_400(api: ApiClient, runtime: Runtime) -> None:
    batch_id, _location = _batch(api, runtime)
    for params in ({"limit": "0"}, {"limit": "101"}, {"start": "-1"}):
        assert _export(api, f"/batches/{batch_id}/failed", **params).status_code == 400


def test_expired_records_are_purged_when_read(api: ApiClient, runtime: Runtime) -> None:
    retention = runtime.settings.failed_records_retention_days
    batch_id, location = _batch(api, runtime)
    _keep(location, batch_id, age_days=retention + 0.01)
    other_id, other_location = _batch(api, runtime)
    _keep(other_location, other_id, age_days=retention - 1)
    listing = _export(api, f"/batches/{batch_id}/failed")
    assert listing.status_code == 200 and listing.json()["data"] == []
    assert read_manifest(location, batch_id) is None  # deleted, not just hidden
    gone = _export(api, f"/batches/{batch_id}/meta", path="row_errors/row_errors.json")
    assert problem_code(gone) == "FLOW-1101-404"
    # younger than the retention: still there
    assert len(_export(api, f"/batches/{other_id}/failed").json()["data"]) == 1


def test_expired_records_of_other_batches_go_too(api: ApiClient, runtime: Runtime) -> None:
    retention = runtime.settings.failed_records_retention_days
    batch_id, location = _batch(api, runtime)
    _keep(location, batch_id)
    # an old batch's records in the same dataset directory
    _keep(location, "OLDBATCH", age_days=retention + 1)
    assert read_manifest(location, "OLDBATCH") is not None
    assert _export(api, f"/batches/{batch_id}/meta").status_code == 200
    assert read_manifest(location, "OLDBATCH") is None
    assert read_manifest(location, batch_id) is not None


def test_the_catalog_batch_shows_the_failed_records(api: ApiClient, runtime: Runtime) -> None:
    batch_id, _location = _batch(api, runtime, failed=3)
    batch = api.request("GET", f"/batches/{batch_id}", prefix=CATALOG_PREFIX).json()[batch_id]
    check_contract("catalog.yaml", "batchResponse", batch)
    assert batch["failedRecordCount"] == 3
    (error,) = batch["errors"]
    assert error["code"] == "FLOW-1425-400" and error["recordCount"] == 3
    assert f"{EXPORT_PREFIX}/batches/{batch_id}/failed" in error["description"]
    clean_id, _ = _batch(api, runtime)
    clean = api.request("GET", f"/batches/{clean_id}", prefix=CATALOG_PREFIX).json()[clean_id]
    assert clean["errors"] == []


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_the_retention_setting_is_checked(days: int) -> None:
    with pytest.raises(ValidationError):
        Settings(failed_records_retention_days=days)
    assert Settings().failed_records_retention_days == 30
