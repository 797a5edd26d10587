"""Adobe's "create a schema using the Schema Registry API" tutorial, then a dataset of it."""

from __future__ import annotations

from typing import Any

from service_harness import ApiClient

from flowservice.schemaregistry.ids import tenant_id_of
from flowservice.settings import CATALOG_PREFIX

SR = "/data/foundation/schemaregistry"
PROFILE = "https://ns.adobe.com/xdm/context/profile"
XED = "application/vnd.adobe.xed+json; version=1"
FULL = "application/vnd.adobe.xed-full+json; version=1"


def call(api: ApiClient, method: str, path: str, **kw: Any) -> Any:
    response = api.request(method, path, prefix=SR, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_loyalty_members_tutorial(api: ApiClient) -> None:
    tenant = f"_{call(api, 'GET', '/stats')['tenantId']}"
    assert tenant == f"_{tenant_id_of(api.org_id)}"
    # 1. a schema of the Profile class, then standard field groups added one by one
    schema = call(
        api,
        "POST",
        "/tenant/schemas",
        json={
            "type": "object",
            "title": "Loyalty Members",
            "description": "Information for all members of the loyalty program",
            "allOf": [{"$ref": PROFILE}],
        },
    )
    path = f"/tenant/schemas/{schema['meta:altId']}"
    for group in ("profile-person-details", "profile-personal-details"):
        ref = f"https://ns.adobe.com/xdm/context/{group}"
        call(api, "PATCH", path, json=[{"op": "add", "path": "/allOf/-", "value": {"$ref": ref}}])
    # 2. a custom field group under the tenant namespace
    loyalty = call(
        api,
        "POST",
        "/tenant/fieldgroups",
        json={
            "type": "object",
            "title": "Loyalty Member Details",
            "meta:intendedToExtend": [PROFILE],
            "description": "Loyalty Program Member Details",
            "definitions": {
                "loyalty": {
                    "properties": {
                        tenant: {
                            "type": "object",
                            "properties": {
                                "loyaltyId": {
                                    "title": "Loyalty Identifier",
                                    "type": "string",
                                    "format": "email",
                                },
                                "loyaltySignupDate": {
                                    "title": "Loyalty Program Signup Date",
                                    "type": "string",
                                    "format": "date",
                                    "meta:xdmType": "date",
                                },
                                "pointsAccrued": {
                                    "title": "Points Accrued",
                                    "type": "integer",
                                    "meta:xdmType": "long",
                                },
                            },
                        }
                    }
                }
            },
            "allOf": [
                {"$ref": "#/definitions/loyalty", "type": "object", "meta:xdmType": "object"}
            ],
        },
    )
    call(
        api,
        "PATCH",
        path,
        json=[{"op": "add", "path": "/allOf/-", "value": {"$ref": loyalty["$id"]}}],
    )
    # 3. a data type, then the field group takes a field of that type
    tier = call(
        api,
        "POST",
        "/tenant/datatypes",
        json={
            "title": "Loyalty Tier",
            "type": "object",
            "description": "Defines the loyalty tier of a customer",
            "definitions": {
                "loyaltyTier": {
                    "properties": {
                        "id": {"title": "Loyalty Tier Identifier", "type": "string"},
                        "currentThreshold": {"title": "Current Threshold", "type": "integer"},
                    }
                }
            },
            "allOf": [{"$ref": "#/definitions/loyaltyTier"}],
        },
    )
    tier_path = f"/definitions/loyalty/properties/{tenant}/properties/loyaltyTier"
    updated = call(
        api,
        "PATCH",
        f"/tenant/fieldgroups/{loyalty['meta:altId']}",
        json=[{"op": "add", "path": tier_path, "value": {"$ref": tier["$id"]}}],
    )
    assert updated["version"] == "1.1"
    # 4. the full schema has every field
    full = call(api, "GET", path, headers={"Accept": FULL})
    custom = full["properties"][tenant]["properties"]
    assert set(custom) == {"loyaltyId", "loyaltySignupDate", "pointsAccrued", "loyaltyTier"}
    assert set(custom["loyaltyTier"]["properties"]) == {"id", "currentThreshold"}
    assert {"person", "personalEmail", "_id"} <= set(full["properties"])
    # 5. the identity descriptor, then enabled for Profile
    descriptor = call(
        api,
        "POST",
        "/tenant/descriptors",
        json={
            "@type": "xdm:descriptorIdentity",
            "xdm:sourceSchema": schema["$id"],
            "xdm:sourceVersion": 1,
            "xdm:sourceProperty": f"/{tenant}/loyaltyId",
            "xdm:namespace": "Email",
            "xdm:property": "xdm:code",
            "xdm:isPrimary": True,
        },
    )
    assert descriptor["xdm:sourceProperty"] == f"/{tenant}/loyaltyId"
    enabled = call(
        api,
        "PATCH",
        path,
        json=[{"op": "add", "path": "/meta:immutableTags", "value": ["union"]}],
    )
    assert enabled["meta:immutableTags"] == ["union"] and enabled["version"] == "1.4"
    assert call(api, "GET", path, headers={"Accept": XED})["meta:immutableTags"] == ["union"]
    # 6. a dataset of the schema
    body = {
        "name": "Loyalty Members",
        "schemaRef": {
            "id": schema["$id"],
            "contentType": "application/vnd.adobe.xed+json;version=1",
        },
    }
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json=body)
    assert made.status_code == 201, made.text
    dataset_id = made.json()[0].removeprefix("@/dataSets/")
    item = api.request("GET", f"/dataSets/{dataset_id}", prefix=CATALOG_PREFIX).json()[dataset_id]
    (custom_field,) = [f for f in item["fields"] if f["name"] == tenant]
    types = {f["name"]: f["type"] for f in custom_field["fields"]}
    assert types == {
        "loyaltyId": "string",
        "loyaltySignupDate": "date",
        "pointsAccrued": "integer",
        "loyaltyTier": "object",
    }


def test_refs_by_alt_id_are_stored_as_ids(api: ApiClient) -> None:
    group = call(
        api,
        "POST",
        "/tenant/mixins",
        json={
            "title": "Extra",
            "type": "object",
            "definitions": {"x": {"properties": {"extra": {"type": "string"}}}},
            "allOf": [{"$ref": "#/definitions/x"}],
        },
    )
    schema = call(
        api,
        "POST",
        "/tenant/schemas",
        json={
            "title": "By alt id",
            "type": "object",
            "allOf": [{"$ref": "_xdm.context.profile"}, {"$ref": group["meta:altId"]}],
        },
    )
    assert [e["$ref"] for e in schema["allOf"]] == [PROFILE, group["$id"]]
    assert schema["meta:class"] == PROFILE and group["$id"] in schema["meta:extends"]
    refused = api.request("DELETE", f"/tenant/fieldgroups/{group['meta:altId']}", prefix=SR)
    assert refused.status_code == 400, refused.text
