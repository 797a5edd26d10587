"""Schema Registry properties: any additive change to a schema in use passes, any removal fails;
random bodies never crash the registry."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_harness import ApiClient

from flowservice.schemaregistry.ids import tenant_id_of
from flowservice.settings import CATALOG_PREFIX

SR = "/data/foundation/schemaregistry"
PROFILE = "https://ns.adobe.com/xdm/context/profile"
PROPS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer", "meta:xdmType": "long"},
        {"type": "integer", "meta:xdmType": "short"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ]
)
FIELDS = st.dictionaries(NAMES, SCALARS, min_size=1, max_size=5)


def _group(api: ApiClient, fields: dict[str, Any]) -> dict[str, Any]:
    namespace = f"_{tenant_id_of(api.org_id)}"
    return {
        "title": "Generated",
        "type": "object",
        "meta:intendedToExtend": [PROFILE],
        "definitions": {
            "custom": {"properties": {namespace: {"type": "object", "properties": fields}}}
        },
        "allOf": [{"$ref": "#/definitions/custom"}],
    }


def _schema_in_use(api: ApiClient, fields: dict[str, Any]) -> str:
    """A field group with ``fields`` in a Profile schema a dataset uses; the group's path."""
    group = api.request("POST", "/tenant/fieldgroups", prefix=SR, json=_group(api, fields))
    assert group.status_code == 201, group.text
    schema = api.request(
        "POST",
        "/tenant/schemas",
        prefix=SR,
        json={
            "title": "Generated",
            "type": "object",
            "allOf": [{"$ref": PROFILE}, {"$ref": group.json()["$id"]}],
        },
    )
    assert schema.status_code == 201, schema.text
    body = {"name": "generated", "schemaRef": {"id": schema.json()["$id"]}}
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json=body)
    assert made.status_code == 201, made.text
    return f"/tenant/fieldgroups/{group.json()['meta:altId']}"


@PROPS
@given(old=FIELDS, added=FIELDS)
def test_any_additive_change_is_accepted(
    api: ApiClient, old: dict[str, Any], added: dict[str, Any]
) -> None:
    path = _schema_in_use(api, old)
    new = {**{f"n{k}": v for k, v in added.items()}, **old}
    response = api.request("PUT", path, prefix=SR, json=_group(api, new))
    assert response.status_code == 200, response.text


@PROPS
@given(old=FIELDS.filter(lambda f: len(f) >= 2), data=st.data())
def test_any_removal_or_retype_is_refused(
    api: ApiClient, old: dict[str, Any], data: st.DataObject
) -> None:
    path = _schema_in_use(api, old)
    victim = data.draw(st.sampled_from(sorted(old)))
    changed = {k: v for k, v in old.items() if k != victim}
    if data.draw(st.booleans()):
        changed[victim] = data.draw(SCALARS.filter(lambda s: s != old[victim]))
    response = api.request("PUT", path, prefix=SR, json=_group(api, changed))
    assert response.status_code == 400, response.text
    assert f"/{victim}" in response.json()["report"]["detailed-message"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=14,
)


@PROPS
@given(
    collection=st.sampled_from(["schemas", "fieldgroups", "datatypes", "descriptors"]),
    field=st.sampled_from(["allOf", "definitions", "properties", "title", "xdm:sourceSchema"]),
    value=JSON,
)
def test_random_bodies_never_crash(api: ApiClient, collection: str, field: str, value: Any) -> None:
    body = {"title": "t", "type": "object", "allOf": [{"$ref": PROFILE}], field: value}
    response = api.request("POST", f"/tenant/{collection}", prefix=SR, json=body)
    assert response.status_code in (201, 400), response.text
    assert "report" in response.json() or "$id" in response.json()
