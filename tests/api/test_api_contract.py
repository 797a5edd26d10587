"""Our responses validate against the response schemas of Adobe's published OpenAPI documents."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SQLSERVER_SPEC_ID, ApiClient, sql_server_connection_body
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

# Adobe's published OpenAPI documents (Apache-2.0), kept outside the repo
REFERENCE = Path(os.environ.get("FLOWSERVICE_REFERENCE_OPENAPI", "/work/shared/reference/openapi"))
SANDBOX_API = "/data/foundation/sandbox-management"


@cache
def _document(name: str) -> dict[str, Any]:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference document {path} is not available")
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def _check(document: str, schema_name: str, instance: Any) -> None:
    uri = f"urn:{document}"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(_document(document), default_specification=DRAFT7)
    )
    validator = Draft7Validator(
        {"$ref": f"{uri}#/components/schemas/{schema_name}"}, registry=registry
    )
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert errors == [], errors


def test_connection_responses_match_flow_service_contract(api: ApiClient) -> None:
    created = api.post("/connections", json=sql_server_connection_body())
    _check("flow-service.yaml", "CreateConnectionRequest", sql_server_connection_body())
    _check("flow-service.yaml", "CreateConnectionResponse", created.json())
    one = api.get(f"/connections/{created.json()['id']}").json()
    _check("flow-service.yaml", "ConnectionListResponse", one)
    listing = api.get("/connections").json()
    _check("flow-service.yaml", "ConnectionListResponse", listing)


def test_spec_response_matches_contract(api: ApiClient) -> None:
    doc = _document("flow-service.yaml")
    names = doc["components"]["schemas"]
    spec = api.get(f"/connectionSpecs/{SQLSERVER_SPEC_ID}").json()
    for candidate in ("ConnectionSpecListResponse", "ConnectionSpecResponse"):
        if candidate in names:
            _check("flow-service.yaml", candidate, spec)


def test_sandbox_responses_match_sandbox_contract(api: ApiClient) -> None:
    body = {"name": "qa", "title": "QA", "type": "development"}
    _check("sandbox.yaml", "CreateSandboxPayload", body)
    created = api.post("/sandboxes", prefix=SANDBOX_API, json=body).json()
    _check("sandbox.yaml", "CreateSandboxResponse", created)
    _check("sandbox.yaml", "RetrieveSandbox", api.get("/sandboxes/qa", prefix=SANDBOX_API).json())
    _check("sandbox.yaml", "ListSandboxes", api.get("/sandboxes", prefix=SANDBOX_API).json())
    _check("sandbox.yaml", "DeleteSandbox", api.delete("/sandboxes/qa", prefix=SANDBOX_API).json())
