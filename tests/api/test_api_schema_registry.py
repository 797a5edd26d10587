"""Schema Registry through the real app: Adobe's tutorial replayed, Accept variants, versions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from openapi_contract import check_contract
from service_harness import ApiClient, outsiders_of, problem_code

from flowservice.schemaregistry.ids import tenant_id_of
from flowservice.settings import CATALOG_PREFIX

SR = "/data/foundation/schemaregistry"
PROFILE = "https://ns.adobe.com/xdm/context/profile"
EVENT = "https://ns.adobe.com/xdm/context/experienceevent"
PERSON = "https://ns.adobe.com/xdm/context/profile-person-details"
XED = "application/vnd.adobe.xed+json; version=1"
FULL = "application/vnd.adobe.xed-full+json; version=1"
IDS = "application/vnd.adobe.xed-id+json"


def sr(api: ApiClient, method: str, path: str, *, accept: str | None = None, **kw: Any) -> Any:
    headers = {"Accept": accept} if accept else None
    return api.request(method, path, prefix=SR, headers=headers, **kw)


def tenant(api: ApiClient) -> str:
    return tenant_id_of(api.org_id)


def field_group_body(api: ApiClient, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tutorial's custom field group: fields under the tenant namespace."""
    fields = fields or {
        "loyaltyId": {"title": "Loyalty ID", "type": "string"},
        "points": {"title": "Points", "type": "integer", "meta:xdmType": "long"},
        "joined": {"title": "Joined", "type": "string", "format": "date-time"},
    }
    return {
        "type": "object",
        "title": "Loyalty details",
        "description": "Loyalty program fields",
        "meta:intendedToExtend": [PROFILE],
        "definitions": {
            "loyalty": {
                "properties": {
                    f"_{tenant(api)}": {
                        "type": "object",
                        "properties": {"loyalty": {"type": "object", "properties": fields}},
                    }
                }
            }
        },
        "allOf": [{"$ref": "#/definitions/loyalty"}],
    }


def create(api: ApiClient, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    response = sr(api, "POST", f"/tenant/{collection}", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    assert response.headers["location"] == f"{SR}/tenant/{collection}/{made['meta:altId']}"
    return made


def schema_body(*refs: str, title: str = "Loyalty members") -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "description": "Members of the loyalty program",
        "allOf": [{"$ref": ref} for ref in refs],
    }


def dataset(api: ApiClient, schema_id: str, **ref: Any) -> Any:
    body = {"name": "members", "schemaRef": {"id": schema_id, **ref}}
    return api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json=body)


def test_stats_give_the_tenant_id_and_counts(api: ApiClient) -> None:
    stats = sr(api, "GET", "/stats")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    check_contract("schema-registry.yaml", "statsResponse", body)
    assert body["tenantId"] == tenant(api) and body["tenantId"] == body["tenantId"].lower()
    assert body["imsOrg"] == api.org_id and body["counts"]["schemas"] == 0
    group = create(api, "fieldgroups", field_group_body(api))
    create(api, "schemas", schema_body(PROFILE, group["$id"]))
    again = sr(api, "GET", "/stats").json()
    check_contract("schema-registry.yaml", "statsResponse", again)
    assert again["counts"]["schemas"] == 1 and again["counts"]["mixins"] == 1
    (usage,) = again["classUsage"]
    assert usage["$id"] == PROFILE and usage["numberOfSchemas"] == 1


def test_tenant_id_rule_is_stable_and_lower_case() -> None:
    assert tenant_id_of("5A2B3C4D5E6F@AdobeOrg") == "5a2b3c4d5e6f"
    assert tenant_id_of("Acme-Corp@AdobeOrg") == tenant_id_of("acme-corp@adobeorg") == "acmecorp"
    assert tenant_id_of("@AdobeOrg") == "tenant"


def test_global_classes_by_uri_alt_id_and_accept_variant(api: ApiClient) -> None:
    listed = sr(api, "GET", "/global/classes", accept=IDS)
    assert listed.status_code == 200
    ids = {item["$id"] for item in listed.json()["results"]}
    assert {PROFILE, EVENT, "https://ns.adobe.com/xdm/data/record"} <= ids
    check_contract("schema-registry.yaml", "listResponse", listed.json())
    by_alt = sr(api, "GET", "/global/classes/_xdm.context.experienceevent", accept=FULL)
    assert by_alt.status_code == 200, by_alt.text
    event = by_alt.json()
    check_contract("schema-registry.yaml", "singleClassResponse", event)
    assert {"_id", "timestamp", "identityMap"} <= set(event["properties"])
    assert event["required"] == ["_id", "timestamp"]
    by_uri = sr(api, "GET", f"/global/classes/{quote(PROFILE, safe='')}", accept=XED)
    assert by_uri.status_code == 200
    assert by_uri.json()["allOf"][0]["$ref"] == "#/definitions/profile"
    assert sr(api, "GET", "/global/classes/_xdm.context.nope", accept=XED).status_code == 404
    group = sr(api, "GET", "/global/fieldgroups/_xdm.context.profile-person-details", accept=FULL)
    assert "person" in group.json()["properties"]
    assert sr(api, "GET", f"/global/mixins/{quote(PERSON, safe='')}").status_code == 200


def test_tutorial_schema_with_class_field_groups_and_accept_variants(api: ApiClient) -> None:
    group = create(api, "fieldgroups", field_group_body(api))
    assert group["$id"].startswith(f"https://ns.adobe.com/{tenant(api)}/mixins/")
    assert group["meta:altId"].startswith(f"_{tenant(api)}.mixins.")
    made = create(api, "schemas", schema_body(PROFILE, group["$id"], PERSON))
    check_contract("schema-registry.yaml", "createSchemaResponse", made)
    check_contract("schema-registry.yaml", "lookupSchemaResponse", made)
    uuid_part = made["$id"].rsplit("/", 1)[-1]
    assert made["$id"] == f"https://ns.adobe.com/{tenant(api)}/schemas/{uuid_part}"
    assert made["meta:altId"] == f"_{tenant(api)}.schemas.{uuid_part}"
    assert made["meta:class"] == PROFILE and made["version"] == "1.0"
    assert (
        made["meta:resourceType"] == "schemas" and made["meta:tenantNamespace"] == f"_{tenant(api)}"
    )
    assert {PROFILE, group["$id"], PERSON} <= set(made["meta:extends"])

    xed = sr(api, "GET", f"/tenant/schemas/{made['meta:altId']}", accept=XED)
    assert xed.status_code == 200, xed.text
    assert [e["$ref"] for e in xed.json()["allOf"]] == [PROFILE, group["$id"], PERSON]
    assert "properties" not in xed.json()
    full = sr(api, "GET", f"/tenant/schemas/{quote(made['$id'], safe='')}", accept=FULL).json()
    assert "allOf" not in full
    assert {"_id", "personID", "person", f"_{tenant(api)}"} <= set(full["properties"])
    loyalty = full["properties"][f"_{tenant(api)}"]["properties"]["loyalty"]["properties"]
    assert set(loyalty) == {"loyaltyId", "points", "joined"}
    notext = sr(
        api,
        "GET",
        f"/tenant/schemas/{made['meta:altId']}",
        accept="application/vnd.adobe.xed-full-notext+json; version=1",
    ).json()
    assert "title" not in notext and "title" not in notext["properties"]["_id"]

    ids = sr(api, "GET", "/tenant/schemas", accept=IDS).json()
    check_contract("schema-registry.yaml", "listSchemasResponse", ids)
    assert ids["results"] == [
        {
            "$id": made["$id"],
            "meta:altId": made["meta:altId"],
            "version": "1.0",
            "title": "Loyalty members",
        }
    ]
    objects = sr(api, "GET", "/tenant/schemas", accept="application/vnd.adobe.xed+json").json()
    assert objects["results"][0]["allOf"] == made["allOf"]
    filtered = sr(
        api,
        "GET",
        "/tenant/fieldgroups",
        accept=IDS,
        params={"property": f"meta:intendedToExtend=={PROFILE}"},
    ).json()
    assert [r["$id"] for r in filtered["results"]] == [group["$id"]]
    legacy = sr(api, "GET", f"/tenant/mixins/{group['meta:altId']}", accept=XED)
    assert legacy.status_code == 200 and legacy.json()["$id"] == group["$id"]


def test_versions_are_stored_and_selected_by_accept(api: ApiClient) -> None:
    made = create(api, "schemas", schema_body(PROFILE))
    path = f"/tenant/schemas/{made['meta:altId']}"
    patched = sr(
        api, "PATCH", path, json=[{"op": "add", "path": "/allOf/-", "value": {"$ref": PERSON}}]
    )
    assert patched.status_code == 200, patched.text
    check_contract("schema-registry.yaml", "patchSchemaResponse", patched.json())
    assert patched.json()["version"] == "1.1"
    replaced = sr(api, "PUT", path, json=schema_body(PROFILE, PERSON, title="Renamed"))
    assert replaced.status_code == 200 and replaced.json()["version"] == "1.2"
    check_contract("schema-registry.yaml", "updateSchemaResponse", replaced.json())
    assert sr(api, "GET", path, accept=XED).json()["title"] == "Renamed"
    first = sr(api, "GET", path, accept="application/vnd.adobe.xed+json; version=1.0").json()
    assert first["version"] == "1.0" and len(first["allOf"]) == 1
    second = sr(api, "GET", path, accept="application/vnd.adobe.xed-full+json;version=1.1").json()
    assert "person" in second["properties"]
    for missing in ("2", "1.9"):
        gone = sr(api, "GET", path, accept=f"application/vnd.adobe.xed+json; version={missing}")
        assert gone.status_code == 404 and problem_code(gone) == "FLOW-1101-404"
    bad = sr(api, "GET", path, accept="application/vnd.adobe.nope+json")
    assert bad.status_code == 400 and "accept" in bad.json()["report"]["detailed-message"].lower()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (schema_body(PERSON), "exactly one class"),
        (schema_body(PROFILE, EVENT), "exactly one class"),
        (schema_body(PROFILE, "https://ns.adobe.com/xdm/context/unknown"), "no known"),
        ({"title": "no allOf"}, "allOf"),
        (schema_body(EVENT, PERSON), "cannot be used with the class"),
    ],
)
def test_invalid_schemas_are_refused(api: ApiClient, body: dict[str, Any], needle: str) -> None:
    response = sr(api, "POST", "/tenant/schemas", json=body)
    assert response.status_code == 400, response.text
    assert needle in response.json()["report"]["detailed-message"]


def test_data_types_resolve_inside_field_groups(api: ApiClient) -> None:
    address = create(
        api,
        "datatypes",
        {
            "title": "Shipping address",
            "type": "object",
            "definitions": {
                "address": {
                    "properties": {
                        "street": {"type": "string"},
                        "zip": {"type": "string"},
                        "floor": {"type": "integer", "meta:xdmType": "short"},
                    }
                }
            },
            "allOf": [{"$ref": "#/definitions/address"}],
        },
    )
    assert address["meta:resourceType"] == "datatypes"
    group = create(
        api,
        "fieldgroups",
        field_group_body(api, {"shipTo": {"title": "Ship to", "$ref": address["$id"]}}),
    )
    made = create(api, "schemas", schema_body(PROFILE, group["$id"]))
    full = sr(api, "GET", f"/tenant/schemas/{made['meta:altId']}", accept=FULL).json()
    ship = full["properties"][f"_{tenant(api)}"]["properties"]["loyalty"]["properties"]["shipTo"]
    assert set(ship["properties"]) == {"street", "zip", "floor"}
    in_use = sr(api, "DELETE", f"/tenant/datatypes/{address['meta:altId']}")
    assert in_use.status_code == 400 and "referenced" in in_use.json()["report"]["detailed-message"]


def test_identity_descriptor(api: ApiClient) -> None:
    made = create(
        api,
        "schemas",
        schema_body(PROFILE, "https://ns.adobe.com/xdm/context/profile-personal-details"),
    )
    body = {
        "@type": "xdm:descriptorIdentity",
        "xdm:sourceSchema": made["$id"],
        "xdm:sourceVersion": 1,
        "xdm:sourceProperty": "/personalEmail/address",
        "xdm:namespace": "Email",
        "xdm:property": "xdm:code",
        "xdm:isPrimary": True,
    }
    created = sr(api, "POST", "/tenant/descriptors", json=body)
    assert created.status_code == 201, created.text
    descriptor = created.json()
    assert descriptor["xdm:isPrimary"] is True and descriptor["meta:containerId"] == "tenant"
    got = sr(
        api,
        "GET",
        f"/tenant/descriptors/{descriptor['@id']}",
        accept="application/vnd.adobe.xdm+json",
    )
    assert got.status_code == 200 and got.json()["xdm:namespace"] == "Email"
    listed = sr(api, "GET", "/tenant/descriptors", accept="application/vnd.adobe.xdm-id+json")
    assert listed.json() == {"xdm:descriptorIdentity": [descriptor["@id"]]}
    full = sr(api, "GET", "/tenant/descriptors", accept="application/vnd.adobe.xdm+json").json()
    check_contract(
        "schema-registry.yaml",
        "listDescriptorsResponse",
        {
            k: [{**d, "xdm:sourceVersion": str(d["xdm:sourceVersion"])} for d in v]
            for k, v in full.items()
        },
    )
    second = sr(
        api,
        "POST",
        "/tenant/descriptors",
        json={**body, "xdm:sourceProperty": "/mobilePhone/number"},
    )
    assert second.status_code == 400 and "primary" in second.json()["report"]["detailed-message"]
    for change, needle in (
        ({"xdm:sourceProperty": "/personalEmail/nope"}, "not a field"),
        ({"xdm:sourceSchema": made["$id"][:-4] + "0000"}, "names no schema"),
        ({"xdm:namespace": None}, "namespace"),
    ):
        bad = sr(
            api, "POST", "/tenant/descriptors", json={**body, "xdm:isPrimary": False, **change}
        )
        assert bad.status_code == 400, bad.text
        assert needle in bad.json()["report"]["detailed-message"]
    relation = {**body, "@type": "xdm:descriptorOneToOne", "xdm:destinationSchema": made["$id"]}
    relation.pop("xdm:isPrimary")
    assert sr(api, "POST", "/tenant/descriptors", json=relation).status_code == 201
    replaced = sr(
        api,
        "PUT",
        f"/tenant/descriptors/{descriptor['@id']}",
        json={**body, "xdm:namespace": "Phone"},
    )
    assert replaced.status_code == 200, replaced.text
    assert (
        replaced.json()["xdm:namespace"] == "Phone" and replaced.json()["@id"] == descriptor["@id"]
    )
    assert sr(api, "DELETE", f"/tenant/descriptors/{descriptor['@id']}").status_code == 204
    assert sr(api, "GET", f"/tenant/descriptors/{descriptor['@id']}").status_code == 404


def test_dataset_from_schema_ref_and_the_evolution_rule(api: ApiClient) -> None:
    group = create(api, "fieldgroups", field_group_body(api))
    made = create(api, "schemas", schema_body(PROFILE, group["$id"]))
    response = dataset(
        api, made["$id"], contentType="application/vnd.adobe.xed-full+json;version=1"
    )
    assert response.status_code == 201, response.text
    dataset_id = response.json()[0].removeprefix("@/dataSets/")
    item = api.request("GET", f"/dataSets/{dataset_id}", prefix=CATALOG_PREFIX).json()[dataset_id]
    fields = {f["name"]: f for f in item["fields"]}
    assert {"_id", "personID", "_repo", f"_{tenant(api)}"} <= set(fields)
    loyalty = fields[f"_{tenant(api)}"]["fields"][0]["fields"]
    assert {f["name"]: f["type"] for f in loyalty} == {
        "loyaltyId": "string",
        "points": "integer",
        "joined": "date-time",
    }
    assert item["schemaRef"]["id"] == made["$id"]

    unknown = dataset(api, f"https://ns.adobe.com/{tenant(api)}/schemas/{'0' * 32}")
    assert unknown.status_code == 400 and "schemaRef.id" in unknown.text

    path = f"/tenant/schemas/{made['meta:altId']}"
    removal = sr(api, "PATCH", path, json=[{"op": "remove", "path": "/allOf/1"}])
    assert removal.status_code == 400, removal.text
    assert "only additive" in removal.json()["report"]["detailed-message"]
    group_path = f"/tenant/fieldgroups/{group['meta:altId']}"
    retype = field_group_body(
        api,
        {
            "loyaltyId": {"type": "integer"},
            "points": {"type": "integer", "meta:xdmType": "long"},
            "joined": {"type": "string", "format": "date-time"},
        },
    )
    assert sr(api, "PUT", group_path, json=retype).status_code == 400
    required = sr(
        api,
        "PATCH",
        group_path,
        json=[{"op": "add", "path": "/definitions/loyalty/required", "value": [f"_{tenant(api)}"]}],
    )
    assert (
        required.status_code == 400 and "required" in required.json()["report"]["detailed-message"]
    )
    additive = sr(
        api, "PATCH", path, json=[{"op": "add", "path": "/allOf/-", "value": {"$ref": PERSON}}]
    )
    assert additive.status_code == 200, additive.text
    refused = sr(api, "DELETE", path)
    assert refused.status_code == 400 and dataset_id in refused.json()["report"]["detailed-message"]
    assert (
        api.request("DELETE", f"/dataSets/{dataset_id}", prefix=CATALOG_PREFIX).status_code == 200
    )
    assert sr(api, "PATCH", path, json=[{"op": "remove", "path": "/allOf/1"}]).status_code == 200
    assert sr(api, "DELETE", path).status_code == 204
    assert sr(api, "GET", path).status_code == 404


def test_other_orgs_and_sandboxes_see_nothing(api: ApiClient) -> None:
    made = create(api, "schemas", schema_body(PROFILE))
    for label, outsider in outsiders_of(api).items():
        path = f"/tenant/schemas/{quote(made['$id'], safe='')}"
        assert sr(outsider, "GET", path).status_code == 404, label
        assert sr(outsider, "DELETE", path).status_code == 404, label
        assert sr(outsider, "GET", "/tenant/schemas").json()["results"] == [], label
