"""Catalog /dataSets through the real app: create with or without a schema, list, patch, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pytest
from deltalake import DeltaTable
from moto_s3 import running_s3
from openapi_contract import check_contract
from service_harness import (
    ApiClient,
    make_settings,
    new_org_id,
    outsiders_of,
    problem_code,
    scope_of,
    start_server,
)

from flowservice.api.runtime import Runtime
from flowservice.api.services.batches import record_batch
from flowservice.settings import CATALOG_PREFIX
from flowservice.store.repos import resources

S3_SECRET = "moto-secret-Zq81"
FIELDS = [
    {"name": "id", "type": "integer", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "price", "type": "decimal(10,2)"},
    {"name": "born", "type": "date"},
    {"name": "seen", "type": "date-time"},
]


def cat(api: ApiClient, method: str, path: str, **kwargs: Any) -> Any:
    return api.request(method, path, prefix=CATALOG_PREFIX, **kwargs)


def create(api: ApiClient, body: dict[str, Any]) -> str:
    response = cat(api, "POST", "/dataSets", json=body)
    assert response.status_code == 201, response.text
    (ref,) = response.json()
    assert ref.startswith("@/dataSets/")
    return str(ref.removeprefix("@/dataSets/"))


def get_item(api: ApiClient, dataset_id: str) -> dict[str, Any]:
    response = cat(api, "GET", f"/dataSets/{dataset_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [dataset_id]
    item: dict[str, Any] = body[dataset_id]
    return item


def people(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "name": [f"näme {i}" for i in range(start, start + n)],
        }
    )


def test_create_with_fields_makes_the_delta_table(api: ApiClient) -> None:
    response = cat(api, "POST", "/dataSets", json={"name": "orders", "fields": FIELDS})
    assert response.status_code == 201
    dataset_id = response.json()[0].removeprefix("@/dataSets/")
    assert len(dataset_id) == 24 and int(dataset_id, 16) >= 0
    assert response.headers["location"] == f"{CATALOG_PREFIX}/dataSets/{dataset_id}"
    item = get_item(api, dataset_id)
    assert item["name"] == "orders"
    assert item["imsOrg"] == api.org_id and item["sandboxName"] == "prod"
    assert item["createdUser"] == api.subject and item["createdClient"] == api.client_id
    assert item["version"] == "1.0.0" and item["schemaPolicy"] == "evolve"
    assert item["fields"] == FIELDS
    assert item["observableSchema"]["properties"]["seen"] == {
        "type": "string",
        "format": "date-time",
    }
    assert item["observableSchema"]["required"] == ["id"]
    assert item["files"] == f"@/dataSetFiles?dataSetId={dataset_id}"
    base = Path(item["basePath"])
    assert base.parts[-3:] == (api.org_id, "prod", dataset_id)
    assert (base / "_delta_log").is_dir()
    assert DeltaTable(str(base)).schema().to_arrow().names == [f["name"] for f in FIELDS]


def test_schema_ref_with_inline_fields_and_name_only(api: ApiClient) -> None:
    ref_id = create(
        api,
        {
            "name": "by ref",
            "schemaRef": {
                "id": "https://ns.adobe.com/acme/schemas/123",
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
                "fields": [{"name": "a", "type": "long"}, {"name": "b", "type": "double"}],
            },
            "tags": {"team": ["sales"]},
        },
    )
    item = get_item(api, ref_id)
    assert item["fields"] == [{"name": "a", "type": "integer"}, {"name": "b", "type": "number"}]
    assert item["schemaRef"]["id"] == "https://ns.adobe.com/acme/schemas/123"
    assert item["tags"] == {"team": ["sales"]}

    bare_id = create(api, {"name": "schema later", "schemaPolicy": "freeze"})
    bare = get_item(api, bare_id)
    assert bare["fields"] == [] and bare["observableSchema"] == {}
    assert bare["schemaPolicy"] == "freeze"
    assert not Path(bare["basePath"]).exists()


def test_observable_schema_form_round_trips(api: ApiClient) -> None:
    first = get_item(api, create(api, {"name": "one", "fields": FIELDS}))
    again = get_item(
        api, create(api, {"name": "two", "observableSchema": first["observableSchema"]})
    )
    assert again["fields"] == FIELDS


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "x", "fields": [{"name": "a", "type": "varchar"}]}, "varchar"),
        ({"name": "x", "fields": [{"name": "a", "type": "string"}, {"name": "A"}]}, "type"),
        ({"name": "x", "fields": []}, "at least one field"),
        ({"fields": [{"name": "a", "type": "string"}]}, "name"),
        ({"name": "x", "basePath": "/etc"}, "basePath"),
        ({"name": "x", "schemaPolicy": "sometimes"}, "schemaPolicy"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "tags": {"a": "not a list"}}, "tags"),
    ],
)
def test_invalid_bodies_are_400_and_store_nothing(
    api: ApiClient, body: dict[str, Any], needle: str
) -> None:
    response = cat(api, "POST", "/dataSets", json=body)
    assert response.status_code == 400, response.text
    assert problem_code(response).endswith("-400")
    message = response.json()["report"]["detailed-message"]
    assert needle.lower() in message.lower(), message
    assert cat(api, "GET", "/dataSets").json() == {}


def test_non_json_and_wrong_content_type(api: ApiClient) -> None:
    bad = cat(api, "POST", "/dataSets", content="{nope")
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    typed = cat(api, "POST", "/dataSets", content="{}", headers={"Content-Type": "text/plain"})
    assert typed.status_code == 400 and typed.json()["title"] == "BadRequestError"
    assert cat(api, "GET", "/dataSets").json() == {}


def test_list_filters_orders_and_pages(api: ApiClient) -> None:
    ids = [create(api, {"name": name}) for name in ("beta", "alpha", "gamma", "alpha")]
    listed = cat(api, "GET", "/dataSets").json()
    assert set(listed) == set(ids)
    assert all(listed[i]["id"] == i for i in ids)
    assert set(cat(api, "GET", "/dataSets", params={"name": "alpha"}).json()) == {ids[1], ids[3]}
    by_property = cat(api, "GET", "/dataSets", params={"property": "name==beta,gamma"}).json()
    assert set(by_property) == {ids[0], ids[2]}
    by_regex = cat(api, "GET", "/dataSets", params={"property": "name~^g"}).json()
    assert set(by_regex) == {ids[2]}
    ordered = cat(api, "GET", "/dataSets", params={"orderBy": "desc:name"}).json()
    assert [v["name"] for v in ordered.values()] == ["gamma", "beta", "alpha", "alpha"]
    page = cat(api, "GET", "/dataSets", params={"orderBy": "asc:created", "limit": 2, "start": 1})
    assert list(page.json()) == ids[1:3]
    slim = cat(api, "GET", "/dataSets", params={"properties": "name", "limit": "1"}).json()
    assert list(slim.values()) == [{"name": "beta"}]
    for params in ({"limit": "0"}, {"limit": "101"}, {"start": "-1"}, {"property": "basePath==x"}):
        assert cat(api, "GET", "/dataSets", params=params).status_code == 400, params
    assert cat(api, "GET", "/dataSets", params={"orderBy": "asc:nope"}).status_code == 400


def test_patch_descriptive_fields_with_etag(api: ApiClient) -> None:
    dataset_id = create(api, {"name": "orders", "fields": FIELDS})
    etag = get_item(api, dataset_id)["etag"]
    patched = cat(
        api,
        "PATCH",
        f"/dataSets/{dataset_id}",
        json=[
            {"op": "replace", "path": "/name", "value": "orders v2"},
            {"op": "add", "path": "/tags", "value": {"unifiedProfile": ["enabled:true"]}},
        ],
        headers={"If-Match": etag, "Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json() == [f"@/dataSets/{dataset_id}"]
    item = get_item(api, dataset_id)
    assert item["name"] == "orders v2" and item["tags"] == {"unifiedProfile": ["enabled:true"]}
    assert item["version"] == "1.0.1" and item["etag"] != etag
    stale = cat(
        api,
        "PATCH",
        f"/dataSets/{dataset_id}",
        json={"description": "x"},
        headers={"If-Match": etag},
    )
    assert problem_code(stale) == "FLOW-1404-412"
    merged = cat(
        api, "PATCH", f"/dataSets/{dataset_id}", json={"description": "d", "schemaPolicy": "freeze"}
    )
    assert merged.status_code == 200
    item = get_item(api, dataset_id)
    assert (item["description"], item["schemaPolicy"], item["version"]) == ("d", "freeze", "1.0.2")
    for body in (
        {"fields": [{"name": "x", "type": "string"}]},
        [{"op": "move", "from": "/name", "path": "/description"}],
        {"name": ""},
        [],
    ):
        refused = cat(api, "PATCH", f"/dataSets/{dataset_id}", json=body)
        assert refused.status_code == 400, (body, refused.text)
    assert get_item(api, dataset_id)["version"] == "1.0.2"


def test_delete_removes_files_and_is_refused_while_a_flow_targets_it(
    api: ApiClient, runtime: Runtime
) -> None:
    dataset_id = create(api, {"name": "orders", "fields": FIELDS[:2]})
    scope = scope_of(runtime, api)
    record_batch(runtime, scope, dataset_id, people(3))
    base = Path(get_item(api, dataset_id)["basePath"])
    assert any(base.glob("*.parquet"))
    with runtime.transaction() as session:
        target = resources.insert_resource(
            session,
            scope=scope,
            kind="targetConnections",
            doc={"params": {"dataSetId": dataset_id}},
        )
        flow = resources.insert_resource(
            session, scope=scope, kind="flows", doc={"targetConnectionIds": [target.id]}
        )
        flow_id = flow.id
    refused = cat(api, "DELETE", f"/dataSets/{dataset_id}")
    assert problem_code(refused) == "FLOW-1418-400", refused.text
    assert flow_id in refused.json()["report"]["detailed-message"]
    assert base.is_dir()
    with runtime.transaction() as session:
        resources.delete_resource(
            session,
            row=resources.get_resource(session, scope=scope, kind="flows", resource_id=flow_id),
        )
    deleted = cat(api, "DELETE", f"/dataSets/{dataset_id}")
    assert deleted.status_code == 200 and deleted.json() == [f"@/dataSets/{dataset_id}"]
    assert not base.exists()
    assert problem_code(cat(api, "GET", f"/dataSets/{dataset_id}")) == "FLOW-1101-404"
    assert cat(api, "GET", "/batches", params={"dataSet": dataset_id}).status_code == 404


def test_preview_reads_rows_written_by_record_batch_through_duckdb(
    api: ApiClient, runtime: Runtime
) -> None:
    dataset_id = create(api, {"name": "people", "fields": FIELDS})
    empty = cat(api, "GET", f"/dataSets/{dataset_id}/preview")
    assert empty.status_code == 200 and empty.json()["data"] == []
    rows = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "name": ["Zoë", None],
            "price": pa.array([None, None], pa.decimal128(10, 2)),
            "born": pa.array([None, None], pa.date32()),
            "seen": pa.array([0, 1_700_000_000_000_000], pa.timestamp("us", tz="UTC")),
        }
    )
    record_batch(runtime, scope_of(runtime, api), dataset_id, rows)
    preview = cat(api, "GET", f"/dataSets/{dataset_id}/preview", params={"limit": 1})
    assert preview.status_code == 200
    assert preview.json()["count"] == 1 and len(preview.json()["data"]) == 1
    full = cat(api, "GET", f"/dataSets/{dataset_id}/preview").json()
    assert sorted(full["data"], key=lambda r: r["id"]) == [
        {"id": 1, "name": "Zoë", "price": None, "born": None, "seen": "1970-01-01T00:00:00+00:00"},
        {"id": 2, "name": None, "price": None, "born": None, "seen": "2023-11-14T22:13:20+00:00"},
    ]
    assert (
        cat(api, "GET", f"/dataSets/{dataset_id}/preview", params={"limit": 0}).status_code == 400
    )
    assert (
        cat(api, "GET", f"/dataSets/{dataset_id}/preview", params={"limit": 1001}).status_code
        == 400
    )
    # any engine reads the table: DuckDB straight from the files
    base = get_item(api, dataset_id)["basePath"]
    source = DeltaTable(base).to_pyarrow_dataset()
    with duckdb.connect() as con:
        con.register("t", source)
        assert con.sql("SELECT count(*), max(name) FROM t").fetchall() == [(2, "Zoë")]


def test_every_dataset_route_is_isolated(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(api, {"name": "mine", "fields": FIELDS[:2]})
    batch = record_batch(runtime, scope_of(runtime, api), dataset_id, people(2))
    etag = get_item(api, dataset_id)["etag"]
    for label, outsider in outsiders_of(api).items():
        calls = {
            "get": cat(outsider, "GET", f"/dataSets/{dataset_id}"),
            "patch": cat(
                outsider,
                "PATCH",
                f"/dataSets/{dataset_id}",
                json={"name": "stolen"},
                headers={"If-Match": etag},
            ),
            "delete": cat(outsider, "DELETE", f"/dataSets/{dataset_id}"),
            "preview": cat(outsider, "GET", f"/dataSets/{dataset_id}/preview"),
            "batches of": cat(outsider, "GET", "/batches", params={"dataSet": dataset_id}),
            "batch": cat(outsider, "GET", f"/batches/{batch.id}"),
        }
        for route, response in calls.items():
            assert response.status_code == 404, (label, route, response.text)
        assert cat(outsider, "GET", "/dataSets").json() == {}
        assert cat(outsider, "GET", "/batches").json() == {}
    item = get_item(api, dataset_id)
    assert item["name"] == "mine" and item["etag"] == etag
    assert len(cat(api, "GET", f"/dataSets/{dataset_id}/preview").json()["data"]) == 2


def test_read_only_tokens_cannot_write(api: ApiClient) -> None:
    dataset_id = create(api, {"name": "mine"})
    reader = api.as_other(scope="read")
    assert cat(reader, "GET", f"/dataSets/{dataset_id}").status_code == 200
    assert cat(reader, "POST", "/dataSets", json={"name": "x"}).status_code == 403
    assert cat(reader, "PATCH", f"/dataSets/{dataset_id}", json={"name": "x"}).status_code == 403
    assert cat(reader, "DELETE", f"/dataSets/{dataset_id}").status_code == 403
    missing_token = cat(api, "GET", "/dataSets", headers={"Authorization": None})
    assert missing_token.status_code == 403 and missing_token.json()["error_code"] == "403010"


def test_responses_match_the_catalog_contract(api: ApiClient, runtime: Runtime) -> None:
    dataset_id = create(api, {"name": "orders", "fields": FIELDS, "tags": {"a": ["b"]}})
    record_batch(runtime, scope_of(runtime, api), dataset_id, people(1))
    check_contract("catalog.yaml", "dataSetRequest", {"name": "x", "description": "d"})
    one = cat(api, "GET", f"/dataSets/{dataset_id}").json()
    check_contract("catalog.yaml", "dataSetResponse", one[dataset_id])
    for item in cat(api, "GET", "/dataSets").json().values():
        check_contract("catalog.yaml", "dataSetResponse", item)
    patched = cat(api, "PATCH", f"/dataSets/{dataset_id}", json={"description": "d"})
    check_contract("catalog.yaml", "datasetUpdateResponse", patched.json())


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback, with a bucket ``lake``."""
    with running_s3(access_key="ak", secret_key=S3_SECRET) as endpoint:
        yield endpoint


def test_datasets_on_an_object_store(s3_endpoint: str, tmp_path: Path) -> None:
    options = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "ak",
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_CONDITIONAL_PUT": "etag",
    }
    settings = make_settings(tmp_path, lake_root="s3://lake/tenants", lake_storage_options=options)
    running = start_server(settings)
    client = ApiClient(running, org_id=new_org_id())
    runtime = Runtime.start(settings)
    try:
        dataset_id = create(client, {"name": "on s3", "fields": FIELDS[:2]})
        record_batch(runtime, scope_of(runtime, client), dataset_id, people(3))
        response = cat(client, "GET", f"/dataSets/{dataset_id}")
        item = response.json()[dataset_id]
        assert item["basePath"] == f"s3://lake/tenants/{client.org_id}/prod/{dataset_id}"
        assert S3_SECRET not in response.text
        rows = cat(client, "GET", f"/dataSets/{dataset_id}/preview").json()["data"]
        assert sorted(r["id"] for r in rows) == [0, 1, 2]
        batches = cat(client, "GET", "/batches", params={"dataSet": dataset_id}).json()
        assert [b["recordCount"] for b in batches.values()] == [3]
        fs = pafs.S3FileSystem(
            access_key="ak",
            secret_key=S3_SECRET,
            endpoint_override=s3_endpoint.removeprefix("http://"),
            scheme="http",
        )
        prefix = f"lake/tenants/{client.org_id}/prod/{dataset_id}"
        selector = pafs.FileSelector(prefix, recursive=True, allow_not_found=True)
        assert any(f.path.endswith(".parquet") for f in fs.get_file_info(selector))
        assert cat(client, "DELETE", f"/dataSets/{dataset_id}").status_code == 200
        assert fs.get_file_info(selector) == []
    finally:
        runtime.close()
        client.close()
        running.stop()
