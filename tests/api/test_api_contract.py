"""Our responses validate against the response schemas of Adobe's published OpenAPI documents."""

from __future__ import annotations

from openapi_contract import check_contract, reference_document
from service_harness import SANDBOX_API, SQLSERVER_SPEC_ID, ApiClient, sql_server_connection_body


def test_connection_responses_match_flow_service_contract(api: ApiClient) -> None:
    created = api.post("/connections", json=sql_server_connection_body())
    check_contract("flow-service.yaml", "CreateConnectionRequest", sql_server_connection_body())
    check_contract("flow-service.yaml", "CreateConnectionResponse", created.json())
    one = api.get(f"/connections/{created.json()['id']}").json()
    check_contract("flow-service.yaml", "ConnectionListResponse", one)
    listing = api.get("/connections").json()
    check_contract("flow-service.yaml", "ConnectionListResponse", listing)


def test_spec_response_matches_contract(api: ApiClient) -> None:
    doc = reference_document("flow-service.yaml")
    names = doc["components"]["schemas"]
    spec = api.get(f"/connectionSpecs/{SQLSERVER_SPEC_ID}").json()
    for candidate in ("ConnectionSpecListResponse", "ConnectionSpecResponse"):
        if candidate in names:
            check_contract("flow-service.yaml", candidate, spec)


def test_sandbox_responses_match_sandbox_contract(api: ApiClient) -> None:
    body = {"name": "qa", "title": "QA", "type": "development"}
    check_contract("sandbox.yaml", "CreateSandboxPayload", body)
    created = api.post("/sandboxes", prefix=SANDBOX_API, json=body).json()
    check_contract("sandbox.yaml", "CreateSandboxResponse", created)
    check_contract(
        "sandbox.yaml", "RetrieveSandbox", api.get("/sandboxes/qa", prefix=SANDBOX_API).json()
    )
    check_contract(
        "sandbox.yaml", "ListSandboxes", api.get("/sandboxes", prefix=SANDBOX_API).json()
    )
    check_contract(
        "sandbox.yaml", "DeleteSandbox", api.delete("/sandboxes/qa", prefix=SANDBOX_API).json()
    )
