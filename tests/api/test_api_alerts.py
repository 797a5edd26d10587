"""Alert subscriptions through the API: CRUD, validation in the documented error format,
the secret shown once and stored encrypted, the delivery log, org and sandbox isolation."""

from __future__ import annotations

from typing import Any

import pytest
from service_harness import ApiClient, assert_hidden_from_outsiders, created_id, problem_code

from flowservice.alerts import delivery_counts
from flowservice.api.runtime import Runtime
from flowservice.store.tables import Resource

PATH = "/alerts/subscriptions"
ALL_KINDS = [
    "sources_flow_run_start",
    "sources_flow_run_success",
    "sources_flow_run_failure",
    "sources_flow_run_delay",
    "sources_ingestion_error_rate_exceeded",
]


def _create(api: ApiClient, **body: Any) -> dict[str, Any]:
    made = api.post(PATH, json={"name": "ops hook", "url": "https://hooks.example.com/a", **body})
    assert made.status_code == 201, made.text
    out: dict[str, Any] = made.json()
    return out


def test_create_shows_the_secret_once_and_defaults(api: ApiClient, runtime: Runtime) -> None:
    made = _create(api)
    assert set(made) == {"id", "etag", "secret"} and len(made["secret"]) >= 32
    item = api.get(f"{PATH}/{made['id']}").json()["items"][0]
    assert item["kinds"] == ALL_KINDS
    assert item["delayMinutes"] == 150 and item["errorRatePercent"] == 0.5
    assert item["state"] == "enabled" and item["url"] == "https://hooks.example.com/a"
    assert item["imsOrgId"] == api.org_id and item["sandboxName"] == "prod"
    assert "flowIds" not in item and "secret" not in item
    listed = api.get(PATH).json()["items"]
    assert [i["id"] for i in listed] == [made["id"]]
    for response in (api.get(PATH), api.get(f"{PATH}/{made['id']}")):
        assert made["secret"] not in response.text
    with runtime.transaction() as session:
        row = session.get(Resource, made["id"])
        assert row is not None and row.secret_doc is not None
        assert made["secret"] not in row.secret_doc and made["secret"] not in str(row.doc)
        assert runtime.secret_box.decrypt(row.secret_doc) == made["secret"]


def test_a_given_secret_is_kept_and_never_echoed(api: ApiClient, runtime: Runtime) -> None:
    secret = "my-own-signing-secret-0123456789"
    made = _create(api, secret=secret, kinds=["sources_flow_run_failure"])
    assert made["secret"] == secret
    assert secret not in api.get(f"{PATH}/{made['id']}").text
    rotated = "rotated-signing-secret-987654321"
    patched = api.patch(
        f"{PATH}/{made['id']}",
        json=[{"op": "add", "path": "/secret", "value": rotated}],
        headers={"If-Match": made["etag"]},
    )
    assert patched.status_code == 200, patched.text
    assert set(patched.json()) == {"id", "etag"} and rotated not in patched.text
    with runtime.transaction() as session:
        row = session.get(Resource, made["id"])
        assert row is not None and row.secret_doc is not None
        assert runtime.secret_box.decrypt(row.secret_doc) == rotated


def test_patch_changes_kinds_thresholds_and_state(api: ApiClient) -> None:
    made = _create(api)
    patched = api.patch(
        f"{PATH}/{made['id']}",
        json=[
            {"op": "replace", "path": "/kinds", "value": ["sources_flow_run_delay"]},
            {"op": "replace", "path": "/delayMinutes", "value": 30},
            {"op": "replace", "path": "/state", "value": "disabled"},
        ],
        headers={"If-Match": made["etag"]},
    )
    assert patched.status_code == 200, patched.text
    item = api.get(f"{PATH}/{made['id']}").json()["items"][0]
    assert item["kinds"] == ["sources_flow_run_delay"] and item["delayMinutes"] == 30
    assert item["state"] == "disabled" and item["etag"] == patched.json()["etag"]
    stale = api.patch(
        f"{PATH}/{made['id']}",
        json=[{"op": "replace", "path": "/name", "value": "x"}],
        headers={"If-Match": made["etag"]},
    )
    assert stale.status_code == 412 and problem_code(stale) == "FLOW-1404-412"
    bad = api.patch(
        f"{PATH}/{made['id']}",
        json=[{"op": "replace", "path": "/errorRatePercent", "value": 101}],
        headers={"If-Match": item["etag"]},
    )
    assert bad.status_code == 400 and problem_code(bad) == "FLOW-1455-400", bad.text
    assert "errorRatePercent" in bad.json()["errorMessage"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.com/a"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"kinds": ["sources_flow_run_party"]}, "kinds"),
        ({"kinds": []}, "kinds"),
        ({"kinds": ["sources_flow_run_start", "sources_flow_run_start"]}, "kinds"),
        ({"delayMinutes": 0}, "delayMinutes"),
        ({"errorRatePercent": -1}, "errorRatePercent"),
        ({"errorRatePercent": False}, "errorRatePercent"),
        ({"delayMinutes": "150"}, "delayMinutes"),
        ({"secret": "short"}, "secret"),
        ({"colour": "blue"}, "colour"),
        ({"flowIds": ["00000000-0000-0000-0000-000000000000"]}, "flowIds"),
    ],
)
def test_invalid_bodies_are_refused_naming_the_field(
    api: ApiClient, body: dict[str, Any], field: str
) -> None:
    response = api.post(PATH, json={"name": "hook", "url": "https://hooks.example.com/a", **body})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem_code(response) == "FLOW-1455-400"
    assert problem["status"] == 400 and problem["report"]["request-id"]
    assert field in problem["errorMessage"]
    if "secret" in body:
        assert body["secret"] not in response.text
    assert api.get(PATH).json()["items"] == []


def test_missing_name_and_if_match(api: ApiClient) -> None:
    missing = api.post(PATH, json={"url": "https://hooks.example.com/a"})
    assert missing.status_code == 400 and "name" in missing.json()["errorMessage"]
    made = _create(api)
    no_etag = api.patch(f"{PATH}/{made['id']}", json=[{"op": "remove", "path": "/description"}])
    assert no_etag.status_code in (400, 428), no_etag.text


def test_delete_and_delivery_log(api: ApiClient, runtime: Runtime) -> None:
    made = _create(api)
    log = api.get(f"{PATH}/{made['id']}/deliveries")
    assert log.status_code == 200 and log.json() == {"items": []}
    with runtime.transaction() as session:
        counts = delivery_counts(session)
    assert set(counts) == {"pending", "delivered", "failed"}
    assert all(isinstance(v, int) for v in counts.values())
    assert api.delete(f"{PATH}/{made['id']}").status_code == 204
    gone = api.get(f"{PATH}/{made['id']}")
    assert gone.status_code == 404 and problem_code(gone) == "FLOW-1101-404"
    assert api.get(f"{PATH}/{made['id']}/deliveries").status_code == 404


def test_read_only_tokens_cannot_subscribe(api: ApiClient) -> None:
    reader = api.as_other(scope="read")
    response = reader.post(PATH, json={"name": "hook", "url": "https://hooks.example.com/a"})
    assert response.status_code == 403, response.text


def test_other_orgs_and_sandboxes_see_nothing(api: ApiClient) -> None:
    made = _create(api)
    assert_hidden_from_outsiders(api, PATH, made)
    assert created_id(api.post(PATH, json={"name": "b", "url": "http://127.0.0.1:9/x"}))
