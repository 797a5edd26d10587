"""Data Prep /mappingSets: created, versioned and checked against the dataset they write."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from flow_fixtures import UNREACHABLE, flow_body
from openapi_contract import check_contract
from service_harness import (
    SQLSERVER_SPEC_ID,
    ApiClient,
    outsiders_of,
    problem_code,
    scope_of,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

from flowservice.api.runtime import Runtime
from flowservice.flows.persistence import mapping_sets
from flowservice.lake import fields_from_dicts
from flowservice.mapping import MappingSet
from flowservice.settings import API_PREFIX, CATALOG_PREFIX, CONVERSION_PREFIX

SCHEMA_ID = "https://ns.adobe.com/acme/schemas/people"
FIELDS = [
    {"name": "id", "type": "integer", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "born", "type": "date"},
    {"name": "email", "type": "string"},
]
MAPPINGS = [
    {"sourceAttribute": "ID", "destinationXdmPath": "id"},
    {"sourceAttribute": "upper(trim(first name))", "destinationXdmPath": "name"},
    {"sourceAttribute": 'to_date(dob, "dd/MM/yyyy")', "destinationXdmPath": "born"},
    {"sourceAttribute": 'concat(login, "@acme.example")', "destinationXdmPath": "email"},
]


def conv(api: ApiClient, method: str, path: str, **kwargs: Any) -> Any:
    return api.request(method, path, prefix=CONVERSION_PREFIX, **kwargs)


def dataset(api: ApiClient, **extra: Any) -> str:
    body = {"name": "people", "fields": FIELDS} | extra
    response = api.post("/dataSets", prefix=CATALOG_PREFIX, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()[0].removeprefix("@/dataSets/"))


def count(api: ApiClient) -> int:
    return int(conv(api, "GET", "/mappingSets").json()["_page"]["count"])


def good_body(dataset_id: str) -> dict[str, Any]:
    # "first name" has a space, so the mapping names it with backticks inside the call
    mappings = [dict(m) for m in MAPPINGS]
    mappings[1]["sourceAttribute"] = "upper(trim(`first name`))"
    return {"dataSetId": dataset_id, "mappings": mappings}


def test_create_and_read_back(api: ApiClient) -> None:
    dataset_id = dataset(api)
    response = conv(api, "POST", "/mappingSets", json=good_body(dataset_id))
    assert response.status_code == 200, response.text
    made = response.json()
    assert set(made) == {"id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy"}
    assert made["version"] == 0 and made["createdBy"] == api.subject
    assert len(made["id"]) == 32
    got = conv(api, "GET", f"/mappingSets/{made['id']}")
    assert got.status_code == 200
    item = got.json()
    assert item["id"] == made["id"] and item["version"] == 0 and item["dataSetId"] == dataset_id
    assert item["status"] == "PUBLISHED"
    first = item["mappings"][0]
    assert first["sourceAttribute"] == first["source"] == "ID"
    assert first["destinationXdmPath"] == first["destination"] == "id"
    assert first["identity"] is False and first["version"] == 0 and len(first["id"]) == 32
    assert [m["destinationXdmPath"] for m in item["mappings"]] == ["id", "name", "born", "email"]
    mappings = conv(api, "GET", f"/mappingSets/{made['id']}/mappings").json()
    assert mappings == item["mappings"]
    one = conv(api, "GET", f"/mappingSets/{made['id']}/mappings/{first['id']}")
    assert one.json() == first
    assert conv(api, "GET", f"/mappingSets/{made['id']}/mappings/nope").status_code == 404


def test_tutorial_body_resolves_xdm_schema_to_the_dataset(api: ApiClient) -> None:
    dataset_id = dataset(api, schemaRef={"id": SCHEMA_ID, "contentType": "application/json"})
    body = {
        "version": 0,
        "xdmSchema": SCHEMA_ID,
        "xdmVersion": "1.0",
        "id": None,
        "mappings": [
            {
                "destinationXdmPath": "id",
                "sourceAttribute": "ID",
                "identity": False,
                "identityGroup": None,
                "namespaceCode": None,
                "version": 0,
            },
            {"destinationXdmPath": "name", "sourceAttribute": "Name", "sourceType": "ATTRIBUTE"},
        ],
    }
    response = conv(api, "POST", "/mappingSets", json=body)
    assert response.status_code == 200, response.text
    item = conv(api, "GET", f"/mappingSets/{response.json()['id']}").json()
    assert item["dataSetId"] == dataset_id and item["xdmSchema"] == SCHEMA_ID


@pytest.mark.parametrize(
    ("mapping", "needles"),
    [
        ({"sourceAttribute": "a", "destinationXdmPath": "nope"}, ["mapping 4", "nope"]),
        ({"sourceAttribute": "concat(a,", "destinationXdmPath": "name"}, ["mapping 4", "position"]),
        ({"sourceAttribute": "shout(a)", "destinationXdmPath": "name"}, ["mapping 4", "shout"]),
        ({"sourceAttribute": "ID", "destinationXdmPath": "id"}, ["mapping 4", "already"]),
        ({"sourceAttribute": 'to_date(a, "yy")', "destinationXdmPath": "name"}, ["mapping 4"]),
    ],
)
def test_bad_mappings_are_1419_naming_the_mapping(
    api: ApiClient, mapping: dict[str, Any], needles: list[str]
) -> None:
    body = good_body(dataset(api))
    body["mappings"].append(mapping)
    response = conv(api, "POST", "/mappingSets", json=body)
    assert problem_code(response) == "FLOW-1419-400", response.text
    message = response.json()["report"]["detailed-message"]
    for needle in needles:
        assert needle in message, message
    assert count(api) == 0


def test_required_field_must_be_mapped(api: ApiClient) -> None:
    body = good_body(dataset(api))
    body["mappings"] = body["mappings"][1:]
    response = conv(api, "POST", "/mappingSets", json=body)
    assert problem_code(response) == "FLOW-1419-400"
    assert "'id'" in response.json()["report"]["detailed-message"]


def test_source_types_from_input_schema_or_source_connection(api: ApiClient) -> None:
    dataset_id = dataset(api)
    typed = {
        "dataSetId": dataset_id,
        "inputSchema": {"fields": [{"name": "n", "type": "int"}, {"name": "s", "type": "string"}]},
        "mappings": [
            {"sourceAttribute": "n", "destinationXdmPath": "id"},
            {"sourceAttribute": "lower(n)", "destinationXdmPath": "name"},
        ],
    }
    refused = conv(api, "POST", "/mappingSets", json=typed)
    assert problem_code(refused) == "FLOW-1419-400" and "mapping 1" in refused.text
    typed["mappings"][1]["sourceAttribute"] = "lower(missing)"
    unknown = conv(api, "POST", "/mappingSets", json=typed)
    assert problem_code(unknown) == "FLOW-1419-400" and "missing" in unknown.text
    typed["mappings"][1]["sourceAttribute"] = 'lower(cast(n, "string"))'
    assert conv(api, "POST", "/mappingSets", json=typed).status_code == 200

    base = api.post("/connections", json=sql_server_connection_body()).json()["id"]
    source = api.post(
        "/sourceConnections",
        prefix=API_PREFIX,
        json={
            "name": "src",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": {
                "tableName": "dbo.People",
                "columns": [
                    {"name": "Qty", "type": "integer", "xdm": {"type": "integer"}},
                    {
                        "name": "Seen",
                        "type": "string",
                        "xdm": {"type": "string", "format": "date-time"},
                    },
                ],
            },
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        },
    ).json()["id"]
    via_source = {
        "dataSetId": dataset_id,
        "sourceConnectionId": source,
        "mappings": [
            {"sourceAttribute": "Qty", "destinationXdmPath": "id"},
            {"sourceAttribute": "Seen", "destinationXdmPath": "born"},
        ],
    }
    wrong = conv(api, "POST", "/mappingSets", json=via_source)
    assert problem_code(wrong) == "FLOW-1419-400" and "born" in wrong.text  # date-time ≠ date
    via_source["mappings"][1]["sourceAttribute"] = "to_date(Seen)"
    assert conv(api, "POST", "/mappingSets", json=via_source).status_code == 200


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"mappings": MAPPINGS}, "dataSetId"),
        ({"xdmSchema": "https://ns.adobe.com/x/unknown", "mappings": MAPPINGS}, "unknown"),
        ({"dataSetId": "0123456789abcdef01234567", "mappings": MAPPINGS}, "dataSetId"),
        ({"dataSetId": "x", "mappings": []}, "mappings"),
        ({"dataSetId": "x", "mappings": [{"sourceAttribute": "a"}]}, "destinationXdmPath"),
        ({"dataSetId": "x", "mappings": MAPPINGS, "colour": 1}, "colour"),
    ],
)
def test_invalid_requests_are_400_and_store_nothing(
    api: ApiClient, body: dict[str, Any], needle: str
) -> None:
    response = conv(api, "POST", "/mappingSets", json=body)
    assert response.status_code == 400, response.text
    assert needle.lower() in response.json()["report"]["detailed-message"].lower()
    assert count(api) == 0


def test_inline_output_schema_and_name_only_dataset(api: ApiClient) -> None:
    inline = {
        "outputSchema": {"fields": [{"name": "x", "type": "date"}]},
        "mappings": [{"sourceAttribute": 'to_date(d, "yyyyMMdd")', "destinationXdmPath": "x"}],
    }
    assert conv(api, "POST", "/mappingSets", json=inline).status_code == 200
    bare = api.post("/dataSets", prefix=CATALOG_PREFIX, json={"name": "later"}).json()[0]
    schemaless = {
        "dataSetId": bare.removeprefix("@/dataSets/"),
        "mappings": [{"sourceAttribute": "upper(a)", "destinationXdmPath": "person.name"}],
    }
    assert conv(api, "POST", "/mappingSets", json=schemaless).status_code == 200


def test_put_makes_a_new_version_and_old_ones_stay(api: ApiClient) -> None:
    dataset_id = dataset(api)
    made = conv(api, "POST", "/mappingSets", json=good_body(dataset_id)).json()
    path = f"/mappingSets/{made['id']}"
    etag = conv(api, "GET", path).json()["etag"]
    changed = good_body(dataset_id)
    changed["mappings"][3] = {"sourceAttribute": "lower(login)", "destinationXdmPath": "email"}
    updated = conv(api, "PUT", path, json=changed, headers={"If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 1
    assert updated.json()["mappings"][3]["sourceAttribute"] == "lower(login)"
    assert updated.json()["createdDate"] == made["createdDate"]
    latest = conv(api, "GET", path).json()
    assert latest["version"] == 1 and latest["latestVersion"] == 1
    old = conv(api, "GET", path, params={"version": 0}).json()
    assert old["version"] == 0 and old["mappings"][3]["sourceAttribute"].startswith("concat")
    assert conv(api, "GET", path, params={"version": 7}).status_code == 404
    assert conv(api, "GET", path, params={"version": -1}).status_code == 400
    stale = conv(api, "PUT", path, json=changed, headers={"If-Match": etag})
    assert problem_code(stale) == "FLOW-1404-412"
    changed["mappings"][0]["destinationXdmPath"] = "nope"
    assert problem_code(conv(api, "PUT", path, json=changed)) == "FLOW-1419-400"
    assert conv(api, "GET", path).json()["version"] == 1


def test_list_pages_and_filters_by_name(api: ApiClient) -> None:
    dataset_id = dataset(api)
    ids = []
    for name in ("a", "b", "a"):
        body = good_body(dataset_id) | {"name": name}
        ids.append(conv(api, "POST", "/mappingSets", json=body).json()["id"])
    listed = conv(api, "GET", "/mappingSets").json()
    assert listed["_page"] == {"count": 3, "limit": 10}
    assert {m["id"] for m in listed["data"]} == set(ids)
    named = conv(api, "GET", "/mappingSets", params={"name": "a"}).json()
    assert {m["id"] for m in named["data"]} == {ids[0], ids[2]}
    page = conv(
        api, "GET", "/mappingSets", params={"limit": 1, "start": 1, "orderBy": "+createdDate"}
    )
    assert [m["id"] for m in page.json()["data"]] == [ids[1]]
    assert page.json()["_page"] == {"count": 3, "limit": 1}


def test_stored_version_drives_the_mapping_library(api: ApiClient, runtime: Runtime) -> None:
    made = conv(api, "POST", "/mappingSets", json=good_body(dataset(api))).json()
    with runtime.transaction() as session:
        version = mapping_sets.find_version(session, scope_of(runtime, api), made["id"], 0)
    source = pa.record_batch(
        {
            "ID": pa.array([1, 2], pa.int64()),
            "first name": ["  zoë ", None],
            "dob": ["31/12/1999", "31/02/2000"],
            "login": ["zo", "x"],
        }
    )
    mapping = MappingSet.compile(
        mapping_sets.rules(version), source=source.schema, dataset=fields_from_dicts(FIELDS)
    )
    out = mapping.apply(source)
    assert out.failed_count == 1  # 31/02 is not a date
    assert out.records.to_pylist() == [
        {"id": 1, "name": "ZOË", "born": date(1999, 12, 31), "email": "zo@acme.example"}
    ]


def test_every_route_is_isolated(api: ApiClient) -> None:
    made = conv(api, "POST", "/mappingSets", json=good_body(dataset(api))).json()
    outsiders = outsiders_of(api)
    path = f"/mappingSets/{made['id']}"
    for label, outsider in outsiders.items():
        calls = {
            "get": conv(outsider, "GET", path),
            "put": conv(outsider, "PUT", path, json={"mappings": MAPPINGS}),
            "mappings": conv(outsider, "GET", f"{path}/mappings"),
        }
        for route, response in calls.items():
            assert response.status_code == 404, (label, route, response.text)
        assert conv(outsider, "GET", "/mappingSets").json()["data"] == []
    assert conv(api, "GET", path).json()["version"] == 0
    reader = api.as_other(scope="read")
    assert conv(reader, "POST", "/mappingSets", json={"mappings": MAPPINGS}).status_code == 403


def _dates_as_examples(value: Any) -> Any:
    """Epoch-ms dates checked as numbers, then dropped: the schemas say date-time strings
    while every published example (create, list, mappings) shows epoch milliseconds."""
    if isinstance(value, list):
        return [_dates_as_examples(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in ("createdDate", "modifiedDate"):
            assert isinstance(item, int) and item > 1_600_000_000_000, (key, item)
            continue
        out[key] = _dates_as_examples(item)
    return out


def test_responses_match_the_data_prep_contract(api: ApiClient) -> None:
    request = good_body(dataset(api))
    made = conv(api, "POST", "/mappingSets", json=request).json()
    check_contract("data-prep.yaml", "SimpleRepresentation", _dates_as_examples(made))
    one = conv(api, "GET", f"/mappingSets/{made['id']}").json()
    check_contract("data-prep.yaml", "MappingSet", _dates_as_examples(one))
    for mapping in one["mappings"]:
        check_contract("data-prep.yaml", "MappingOperation", _dates_as_examples(mapping))
    page = conv(api, "GET", "/mappingSets").json()
    check_contract("data-prep.yaml", "MapperSetPage", _dates_as_examples(page))
    put = conv(api, "PUT", f"/mappingSets/{made['id']}", json=request).json()
    check_contract("data-prep.yaml", "MappingSet", _dates_as_examples(put))


def test_validate_reports_each_mapping(api: ApiClient) -> None:
    body = {
        "inputSchema": {"fields": [{"name": "ID", "type": "string"}, {"name": "n", "type": "int"}]},
        "outputSchema": {"fields": FIELDS},
        "mappings": [
            {"sourceAttribute": "ID", "destinationXdmPath": "id"},
            {"sourceAttribute": "lower(n)", "destinationXdmPath": "name"},
            {"sourceAttribute": "missing", "destinationXdmPath": "email"},
        ],
    }
    response = conv(api, "POST", "/mappingSets/validate", json=body)
    assert response.status_code == 200, response.text
    check_contract("data-prep.yaml", "MappingValidationResponse", response.json())
    entries = response.json()["validationResponse"]
    assert [e["status"] for e in entries] == ["SUCCESS", "FAILED", "FAILED"]
    assert "needs text" in entries[1]["errors"][0]["exception"]
    assert entries[2]["errors"][0]["source"] == "missing"
    assert "no source column 'missing'" in entries[2]["errors"][0]["exception"]


def test_preview_maps_rows_and_reports_row_errors(api: ApiClient) -> None:
    body = {
        "data": [
            {"ID": "1", "name": "Ada", "dob": "10/12/1815"},
            {"ID": "x", "name": "Bob", "dob": "31/02/2000"},
        ],
        "mappingSet": {
            "outputSchema": {"fields": FIELDS},
            "mappings": [
                {"sourceAttribute": "ID", "destinationXdmPath": "id"},
                {"sourceAttribute": "upper(name)", "destinationXdmPath": "name"},
                {"sourceAttribute": 'to_date(dob, "dd/MM/yyyy")', "destinationXdmPath": "born"},
            ],
        },
    }
    response = conv(api, "POST", "/mappingSets/preview", json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["data"] == [{"id": 1, "name": "ADA", "born": "1815-12-10"}, None]
    (error,) = got["errors"]
    assert error["row"] == 1 and error["destination"] == "id"
    assert "cannot convert 'x'" in error["exception"]


def test_preview_refuses_a_bad_mapping_set(api: ApiClient) -> None:
    body = {
        "data": [{"a": 1}],
        "mappingSet": {"mappings": [{"source": "nosuch(a)", "destination": "x"}]},
    }
    response = conv(api, "POST", "/mappingSets/preview", json=body)
    assert response.status_code == 400
    assert problem_code(response) == "FLOW-1419-400" and "unknown function" in response.text


def _flow_parts(api: ApiClient, columns: list[str] | None) -> tuple[str, str]:
    """(source connection, target connection) ids; the source declares ``columns``."""
    base = api.post("/connections", json=sql_server_connection_body(UNREACHABLE)).json()["id"]
    source_body = source_connection_body(name="people", base_id=base, table="dbo.People")
    if columns is not None:
        source_body["params"]["columns"] = [{"name": c, "type": "nvarchar"} for c in columns]
    made = api.post("/sourceConnections", json=source_body)
    assert made.status_code == 201, made.text
    target_body = target_connection_body(name="people", dataset_id=dataset(api))
    target = api.post("/targetConnections", json=target_body)
    assert target.status_code == 201, target.text
    return str(made.json()["id"]), str(target.json()["id"])


def _mapping_flow(api: ApiClient, source: str, target: str, mapping_id: str) -> Any:
    transformations = [{"name": "Mapping", "params": {"mappingId": mapping_id}}]
    return api.post("/flows", json=flow_body(source, target, transformations=transformations))


def test_flow_refuses_a_mapping_that_reads_a_column_the_source_lacks(api: ApiClient) -> None:
    dataset_id = dataset(api)
    body = {
        "dataSetId": dataset_id,
        "mappings": [
            {"sourceAttribute": "ID", "destinationXdmPath": "id"},
            {
                "sourceAttribute": "upper(concat(`first name`, nickname))",
                "destinationXdmPath": "name",
            },
        ],
    }
    made = conv(api, "POST", "/mappingSets", json=body)
    assert made.status_code == 200, made.text
    mapping_id = made.json()["id"]
    source, target = _flow_parts(api, ["id", "First Name", "dob"])
    refused = _mapping_flow(api, source, target, mapping_id)
    assert refused.status_code == 400, refused.text
    assert "'nickname'" in refused.text and source in refused.text
    assert "'ID'" not in refused.text and "first name" not in refused.text
    # the same mapping on a source that reads the whole table: its columns are not known yet
    open_source, open_target = _flow_parts(api, None)
    assert _mapping_flow(api, open_source, open_target, mapping_id).status_code == 201


def test_flow_accepts_a_mapping_of_declared_columns(api: ApiClient) -> None:
    body = {
        "dataSetId": dataset(api),
        "mappings": [
            {"sourceAttribute": "ID", "destinationXdmPath": "id"},
            {"sourceAttribute": "sha256(lower(`first name`))", "destinationXdmPath": "name"},
        ],
    }
    mapping_id = conv(api, "POST", "/mappingSets", json=body).json()["id"]
    source, target = _flow_parts(api, ["ID", "first name"])
    created = _mapping_flow(api, source, target, mapping_id)
    assert created.status_code == 201, created.text


def test_validate_answers_failed_entries_not_400_for_bad_content(api: ApiClient) -> None:
    body = {
        "dataSetId": "no-such-dataset",
        "mappings": [
            {"sourceAttribute": "", "destinationXdmPath": "id"},
            {"source": "a", "destination": "b"},
        ],
    }
    response = conv(api, "POST", "/mappingSets/validate", json=body)
    assert response.status_code == 200, response.text
    check_contract("data-prep.yaml", "MappingValidationResponse", response.json())
    entries = response.json()["validationResponse"]
    assert [e["status"] for e in entries] == ["FAILED", "SUCCESS", "FAILED"]
    assert "sourceAttribute must be a non-empty string" in entries[0]["errors"][0]["exception"]
    assert "no-such-dataset" in entries[2]["errors"][0]["exception"]


def test_preview_types_sample_values_from_json(api: ApiClient) -> None:
    rows = [
        {"n": 1, "x": 1.5, "big": 2**70, "mixed": True, "obj": {"a": 1}},
        {"n": 2, "x": 2, "big": 1, "mixed": 3, "obj": None},
    ]
    mappings = [
        {"source": "n * 2", "destination": "n2"},
        {"source": "x / 2", "destination": "half"},
        {"source": "length(big)", "destination": "digits"},
        {"source": "mixed", "destination": "mixed"},
        {"source": "obj", "destination": "obj"},
    ]
    body = {"data": rows, "mappingSet": {"mappings": mappings}}
    response = conv(api, "POST", "/mappingSets/preview", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [
        {"n2": 2, "half": 0.75, "digits": 22, "mixed": "true", "obj": '{"a": 1}'},
        {"n2": 4, "half": 1.0, "digits": 1, "mixed": "3"},
    ]
