from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.flows.flow_definition import check_patch_paths, parse_flow
from flowservice.flows.flow_spec import CRM_TO_AEP_ID, flow_specs

DOCS_BODY: dict[str, Any] = {
    "name": "Database dataflow",
    "flowSpec": {"id": CRM_TO_AEP_ID, "version": "1.0"},
    "sourceConnectionIds": ["b7581b59-c603-4df1-a689-d23d7ac440f3"],
    "targetConnectionIds": ["320f119a-5ac1-4ab1-88ea-eb19e674ea2e"],
    "transformations": [
        {
            "name": "Copy",
            "params": {
                "deltaColumn": {"name": "Datefield", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
            },
        },
        {
            "name": "Mapping",
            "params": {"mappingId": "0b090130b58b4819afc78b6dc98b484d", "mappingVersion": 0},
        },
    ],
    "scheduleParams": {
        "startTime": "1612310466",
        "frequency": "minute",
        "interval": "15",
        "backfill": "true",
    },
}


def test_docs_create_body_is_accepted_and_normalised() -> None:
    flow = parse_flow(DOCS_BODY, flow_specs())
    assert flow.flow_spec.id == CRM_TO_AEP_ID
    out = flow.to_json()
    assert out["scheduleParams"] == {
        "startTime": 1612310466,
        "frequency": "minute",
        "interval": 15,
        "backfill": True,
    }
    assert out["transformations"] == DOCS_BODY["transformations"]
    assert out["options"] == {"errorDiagnosticsEnabled": False}
    assert out["sourceConnectionIds"] == DOCS_BODY["sourceConnectionIds"]
    assert parse_flow(out, flow_specs()).to_json() == out  # stable


def test_version_may_be_omitted() -> None:
    body = copy.deepcopy(DOCS_BODY)
    body["flowSpec"] = {"id": CRM_TO_AEP_ID}
    assert parse_flow(body, flow_specs()).flow_spec.version == "1.0"


def test_state_on_create_is_1410() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_flow({**DOCS_BODY, "state": "enabled"}, flow_specs())
    assert info.value.code == 1410 and info.value.status == 400
    # after a PATCH the stored flow is re-validated without that rule
    assert parse_flow({**DOCS_BODY, "state": "enabled"}, flow_specs(), creating=False)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"name": ""}, "name is required"),
        ({"name": None}, "name is required"),
        ({"description": 5}, "description must be a string"),
        ({"flowSpec": None}, "flowSpec.id is required"),
        ({"flowSpec": {"id": "nope"}}, "flowSpec.id 'nope' is not a known flow spec"),
        ({"flowSpec": {"id": CRM_TO_AEP_ID, "version": "9.9"}}, "flowSpec.version '9.9'"),
        ({"sourceConnectionIds": []}, "sourceConnectionIds must be a list holding exactly one"),
        ({"targetConnectionIds": ["a", "b"]}, "targetConnectionIds must be a list"),
        ({"scheduleParams": None}, "scheduleParams must be an object"),
        ({"transformations": [{"name": "Nope"}]}, "transformations[0].name 'Nope'"),
        ({"options": {"partialIngestionPercent": -1}}, "partialIngestionPercent"),
        ({"inheritedAttributes": {}}, "inheritedAttributes is not a field of a flow"),
    ],
)
def test_invalid_bodies(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_flow({**DOCS_BODY, **change}, flow_specs())
    assert fragment in info.value.message


def test_missing_schedule_and_non_object_body() -> None:
    body = {k: v for k, v in DOCS_BODY.items() if k != "scheduleParams"}
    with pytest.raises(ValidationFailed, match="scheduleParams is required"):
        parse_flow(body, flow_specs())
    with pytest.raises(InvalidRequest) as info:
        parse_flow([], flow_specs())
    assert info.value.code == 1405


def test_patch_of_the_docs_paths_then_revalidation() -> None:
    stored = parse_flow(DOCS_BODY, flow_specs()).to_json()
    ops: list[dict[str, Any]] = [
        {"op": "replace", "path": "/scheduleParams/frequency", "value": "hour"},
        {"op": "replace", "path": "/scheduleParams/interval", "value": 2},
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "remove", "path": "/transformations/1"},
    ]
    check_patch_paths(ops)
    patched = parse_flow(jsonpatch.apply_patch(stored, ops), flow_specs(), creating=False)
    assert patched.name == "renamed"
    assert patched.schedule.to_params()["frequency"] == "hour"
    assert patched.transformations.mapping is None
    bad = jsonpatch.apply_patch(
        stored, [{"op": "replace", "path": "/scheduleParams/interval", "value": 5}]
    )
    with pytest.raises(ValidationFailed, match="interval must be at least 15"):
        parse_flow(bad, flow_specs(), creating=False)


@pytest.mark.parametrize("path", ["/flowSpec/id", "/sourceConnectionIds/0", "/state", "", "name"])
def test_unpatchable_paths(path: str) -> None:
    with pytest.raises(ValidationFailed, match="cannot be changed"):
        check_patch_paths([{"op": "replace", "path": path, "value": "x"}])
