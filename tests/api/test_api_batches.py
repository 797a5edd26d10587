"""Catalog /batches: batches written by record_batch (or straight into the lake), read over HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from openapi_contract import check_contract
from service_harness import ApiClient, problem_code, scope_of

from flowservice.api.runtime import Runtime
from flowservice.api.services.batches import new_batch_id, record_batch
from flowservice.errors import LakeError, SchemaMismatch
from flowservice.flows.persistence import datasets
from flowservice.settings import CATALOG_PREFIX

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def cat(api: ApiClient, method: str, path: str, **kwargs: Any) -> Any:
    return api.request(method, path, prefix=CATALOG_PREFIX, **kwargs)


def create(api: ApiClient, body: dict[str, Any]) -> str:
    response = cat(api, "POST", "/dataSets", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()[0].removeprefix("@/dataSets/"))


def rows(n: int, **extra: pa.Array) -> pa.Table:
    return pa.table(
        {"id": pa.array(range(n), pa.int64()), "name": [f"n{i}" for i in range(n)]} | extra
    )


def test_batch_ids_are_ulids_ordered_by_time() -> None:
    first, second = new_batch_id(1_700_000_000_000), new_batch_id(1_700_000_000_001)
    assert ULID.match(first) and ULID.match(second)
    assert first < second
    assert len({new_batch_id() for _ in range(1000)}) == 1000


def test_recorded_batch_is_listed_and_retrieved(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(api, {"name": "people", "fields": [{"name": "id", "type": "integer"}]})
    before = int(time.time() * 1000)
    batch = record_batch(
        runtime, scope_of(runtime, api), dataset_id, rows(5), flow_id="flow-1", run_id="run-1"
    )
    assert ULID.match(batch.id) and batch.status == "success" and batch.record_count == 5
    listed = cat(api, "GET", "/batches", params={"dataSet": dataset_id})
    assert listed.status_code == 200
    assert list(listed.json()) == [batch.id]
    item = listed.json()[batch.id]
    assert item["status"] == "success"
    assert item["recordCount"] == 5 and item["failedRecordCount"] == 0
    assert item["size"] == batch.size_bytes > 0
    assert before <= item["started"] <= item["completed"] <= int(time.time() * 1000)
    assert item["imsOrg"] == api.org_id and item["createdUser"] == api.subject
    assert item["relatedObjects"] == [{"type": "dataSet", "id": dataset_id}]
    assert item["tags"] == {"flowId": ["flow-1"], "runId": ["run-1"]}
    by_flow = cat(api, "GET", "/batches", params={"property": "tags.flowId[]==flow-1"}).json()
    assert list(by_flow) == [batch.id]
    assert item["metrics"]["deltaVersion"] == batch.version == 1
    one = cat(api, "GET", f"/batches/{batch.id}")
    assert one.status_code == 200 and one.json() == {batch.id: item}
    dataset = cat(api, "GET", f"/dataSets/{dataset_id}").json()[dataset_id]
    assert (dataset["lastBatchId"], dataset["lastBatchStatus"]) == (batch.id, "success")
    # the schema evolved: the batch brought "name"
    assert [f["name"] for f in dataset["fields"]] == ["id", "name"]


def test_failed_write_is_a_failed_batch_with_no_rows(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(
        api,
        {"name": "frozen", "fields": [{"name": "id", "type": "integer"}], "schemaPolicy": "freeze"},
    )
    with pytest.raises(SchemaMismatch, match="name"):
        record_batch(runtime, scope_of(runtime, api), dataset_id, rows(3))
    listed = cat(api, "GET", "/batches", params={"dataSet": dataset_id}).json()
    (item,) = listed.values()
    assert item["status"] == "failed" and item["recordCount"] == 0
    assert item["errors"][0]["code"] == "FLOW-1425-400"
    assert "name" in item["errors"][0]["description"]
    assert cat(api, "GET", f"/dataSets/{dataset_id}/preview").json()["data"] == []
    dataset = cat(api, "GET", f"/dataSets/{dataset_id}").json()[dataset_id]
    assert dataset["lastBatchStatus"] == "failed"
    failed_only = cat(api, "GET", "/batches", params={"status": "failed"}).json()
    assert list(failed_only) == [item["id"]]


def test_a_source_failing_midway_leaves_no_rows(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(api, {"name": "half", "fields": [{"name": "id", "type": "integer"}]})

    def source() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"id": pa.array(range(1000), pa.int64())})
        raise ConnectionResetError("the source went away")

    with pytest.raises(LakeError, match="ConnectionResetError"):
        record_batch(runtime, scope_of(runtime, api), dataset_id, source())
    (item,) = cat(api, "GET", "/batches", params={"dataSet": dataset_id}).json().values()
    assert item["status"] == "failed" and item["errors"][0]["code"] == "FLOW-2001-500"
    assert cat(api, "GET", f"/dataSets/{dataset_id}/preview").json()["data"] == []
    good = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(2))
    assert cat(api, "GET", f"/dataSets/{dataset_id}/preview").json()["count"] == 2
    assert cat(api, "GET", f"/dataSets/{dataset_id}").json()[dataset_id]["lastBatchId"] == good.id


def test_record_batch_on_a_missing_dataset_is_404(api: ApiClient, runtime: Runtime) -> None:
    from flowservice.errors import NotFound

    with pytest.raises(NotFound):
        record_batch(runtime, scope_of(runtime, api), "0" * 24, rows(1))


def test_batches_committed_without_a_record_are_still_shown(
    api: ApiClient, runtime: Runtime
) -> None:
    dataset_id = create(api, {"name": "runner wrote it"})
    scope = scope_of(runtime, api)
    with runtime.transaction() as session:
        dataset = datasets.open_dataset(session, runtime.settings, scope, dataset_id)
    dataset.write_batch(
        rows(4), commit_metadata={"batchId": "01HRAWBATCH0000000000000AB", "runId": "r9"}
    )
    listed = cat(api, "GET", "/batches", params={"dataSet": dataset_id}).json()
    item = listed["01HRAWBATCH0000000000000AB"]
    assert item["status"] == "success" and item["recordCount"] == 4
    assert item["tags"] == {"runId": ["r9"]}
    got = cat(api, "GET", "/batches/01HRAWBATCH0000000000000AB")
    assert got.status_code == 200 and got.json()["01HRAWBATCH0000000000000AB"]["size"] > 0
    assert "01HRAWBATCH0000000000000AB" in cat(api, "GET", "/batches").json()
    missing = cat(api, "GET", "/batches/01HNOSUCHBATCH000000000000")
    assert problem_code(missing) == "FLOW-1101-404"


def test_list_orders_newest_first_and_pages(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(api, {"name": "many"})
    scope = scope_of(runtime, api)
    ids = [record_batch(runtime, scope, dataset_id, rows(i + 1)).id for i in range(3)]
    listed = cat(api, "GET", "/batches", params={"dataSet": dataset_id}).json()
    assert list(listed) == ids[::-1]
    assert [b["recordCount"] for b in listed.values()] == [3, 2, 1]
    oldest_first = cat(
        api, "GET", "/batches", params={"dataSet": dataset_id, "orderBy": "asc:created", "limit": 2}
    ).json()
    assert list(oldest_first) == ids[:2]
    big = cat(api, "GET", "/batches", params={"property": "recordCount>=2"}).json()
    assert set(big) == set(ids[1:])
    assert cat(api, "GET", "/batches", params={"dataSet": "nope"}).status_code == 404
    assert cat(api, "GET", "/batches", params={"limit": "x"}).status_code == 400
    preview = cat(api, "GET", f"/dataSets/{dataset_id}/preview").json()
    assert preview["count"] == 6


def test_responses_match_the_catalog_contract(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(api, {"name": "people"})
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, rows(2), run_id="r1")
    for item in cat(api, "GET", "/batches", params={"dataSet": dataset_id}).json().values():
        check_contract("catalog.yaml", "batchResponse", item)
    one = cat(api, "GET", f"/batches/{batch.id}").json()
    check_contract("catalog.yaml", "batchResponse", one[batch.id])
