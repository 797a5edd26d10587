"""The served /openapi.json: self-contained, every error status declared, true to the answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from service_harness import (
    SANDBOX_API,
    ApiClient,
    create_dataset,
    problem_code,
    sql_server_connection_body,
)

from flowservice.settings import API_PREFIX, CATALOG_PREFIX

DOC_URI = "urn:flowservice-openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _document(api: ApiClient) -> dict[str, Any]:
    response = api.http.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert method in METHODS, (path, method)
            yield path, method, operation


def _walk(node: Any, where: str = "#") -> Iterator[tuple[str, str, Any]]:
    """(pointer, key, value) of every member of every object in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{_escape(str(key))}"
            yield here, key, value
            yield from _walk(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} does not point into this document"
    node: Any = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"{ref} does not resolve at {token!r}"
        node = node[token]
    return node


def _has_parameter(operation: dict[str, Any], where: str, name: str | None = None) -> bool:
    return any(
        p["in"] == where and (name is None or p["name"].lower() == name)
        for p in operation.get("parameters", [])
    )


def test_every_ref_resolves_from_the_document_root(api: ApiClient) -> None:
    document = _document(api)
    refs = [(where, value) for where, key, value in _walk(document) if key == "$ref"]
    assert len(refs) > 50
    for where, ref in refs:
        assert isinstance(ref, str), where
        target = _resolve(document, ref)
        assert isinstance(target, dict) and target, (where, ref)
    nested = [where for where, key, _ in _walk(document) if key == "$defs"]
    assert nested == [], "schemas must live in components/schemas"
    for name in ("ConnectionCreate", "SpecRef", "AuthIn", "FlowCreate", "JsonPatch", "Problem"):
        assert name in document["components"]["schemas"], name


def test_every_operation_declares_the_errors_it_can_answer(api: ApiClient) -> None:
    document = _document(api)
    operations = list(_operations(document))
    assert len(operations) > 40
    for path, method, operation in operations:
        label = f"{method.upper()} {path}"
        declared = set(operation["responses"])
        assert "422" not in declared, label
        expected = {"400", "500"}
        if path != "/health":
            assert operation["security"] == [{"bearerToken": [], "apiKey": []}], label
            expected |= {"401", "403"}
        if _has_parameter(operation, "path") or _has_parameter(
            operation, "header", "x-sandbox-name"
        ):
            expected.add("404")
        if _has_parameter(operation, "header", "if-match"):
            expected.add("412")
        errors = {status for status in declared if status >= "400"}
        assert expected <= errors, label
        for status in errors - expected:
            # an error only this route gives, declared on the route itself
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (label, status)
        for status, response in operation["responses"].items():
            assert "x-request-id" in response["headers"], (label, status)
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                names = {ref.rsplit("/", 1)[-1] for _, key, ref in _walk(schema) if key == "$ref"}
                assert names <= {"Problem", "GatewayError", "GatewayBadRequest"}, (label, status)
                assert "Problem" in names or status in ("401", "403"), (label, status)
        headers = {
            p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
        }
        assert not headers & {"authorization", "x-api-key"}, "credentials are security schemes"
        for parameter in operation.get("parameters", []):
            assert {"type": "null"} not in parameter["schema"].get("anyOf", []), (label, parameter)
            if parameter["name"] == "x-gw-ims-org-id":
                assert parameter["required"] is True, label
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _validator(document: dict[str, Any], path: str, method: str, status: int) -> Any:
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    pointer = "/".join(
        _escape(p)
        for p in ("paths", path, method, "responses", str(status), "content", "application/json")
    )
    return Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}/schema"}, registry=registry)


def _assert_declared(
    document: dict[str, Any], path: str, method: str, response: httpx.Response
) -> None:
    operation = document["paths"][path][method]
    assert str(response.status_code) in operation["responses"], response.text
    errors = list(
        _validator(document, path, method, response.status_code).iter_errors(response.json())
    )
    assert errors == [], (response.status_code, response.text, [e.message for e in errors])


def test_error_answers_match_their_declared_schemas(api: ApiClient) -> None:
    document = _document(api)
    connections = f"{API_PREFIX}/connections"
    item = f"{API_PREFIX}/connections/{{connection_id}}"
    made = api.post("/connections", json=sql_server_connection_body()).json()
    reader = api.as_other(scope="read")
    answers = [
        (connections, "get", api.get("/connections", params={"limit": "zero"})),
        (connections, "get", api.get("/connections", headers={"Authorization": None})),
        (connections, "get", api.get("/connections", headers={"Authorization": "Bearer bad"})),
        (connections, "get", api.get("/connections", headers={"x-gw-ims-org-id": None})),
        (connections, "get", api.get("/connections", headers={"x-sandbox-name": "nosuch"})),
        (item, "get", api.get("/connections/nosuch")),
        (
            connections,
            "post",
            api.post("/connections", content=b"{}", headers={"Content-Type": None}),
        ),
        (connections, "post", api.post("/connections", json={"name": 5})),
        (
            item,
            "patch",
            api.patch(f"/connections/{made['id']}", json=[], headers={"If-Match": '"stale"'}),
        ),
        (item, "patch", api.patch(f"/connections/{made['id']}", json=[])),
        (item, "delete", reader.delete(f"/connections/{made['id']}")),
    ]
    reader.close()
    statuses = sorted(response.status_code for _, _, response in answers)
    assert statuses == [400, 400, 400, 400, 400, 401, 403, 403, 404, 404, 412], statuses
    for path, method, response in answers:
        _assert_declared(document, path, method, response)


def test_required_if_match_is_declared_so(api: ApiClient) -> None:
    """Without If-Match, a route that requires it answers 1403 before it looks the id up."""
    document = _document(api)
    checked = 0
    for path, method, operation in _operations(document):
        declared = [p for p in operation.get("parameters", []) if p["name"].lower() == "if-match"]
        if not declared:
            continue
        url = path.replace("{", "").replace("}", "-nosuch")
        body = [{"op": "replace", "path": "/name", "value": "x"}]
        response = api.request(method.upper(), url, prefix="", json=body)
        if declared[0]["required"]:
            assert problem_code(response) == "FLOW-1403-400", (path, response.text)
        else:
            assert response.status_code == 404, (path, response.text)
        checked += 1
    assert checked == 7


def test_a_wrong_method_is_405_with_allow_in_the_problem_format(api: ApiClient) -> None:
    cases = [
        ("PUT", f"{API_PREFIX}/connections", "GET, POST"),
        ("OPTIONS", f"{API_PREFIX}/connections/abc", "DELETE, GET, PATCH"),
        ("POST", f"{SANDBOX_API}/sandboxes/dev", "DELETE, GET"),
        ("PUT", f"{CATALOG_PREFIX}/dataSets/abc", "DELETE, GET, PATCH"),
        ("POST", "/health", "GET"),
    ]
    for method, path, allowed in cases:
        response = api.request(method, path, prefix="")
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["allow"] == allowed, (method, path)
        assert problem_code(response) == "FLOW-1100-405"
        assert response.json()["title"] == "Method not allowed"
        assert response.headers["x-request-id"] == response.json()["report"]["request-id"]


# ---- the order of checks around If-Match (docs/openapi.md: "Preconditions") ----

STALE = '"00000000-0000-0000-0000-000000000000"'


@pytest.fixture
def connection(api: ApiClient) -> dict[str, str]:
    made = api.post("/connections", json=sql_server_connection_body())
    assert made.status_code == 201, made.text
    body: dict[str, str] = made.json()
    return body


def test_a_stale_etag_is_412_before_the_content_is_validated(
    api: ApiClient, connection: dict[str, str]
) -> None:
    url = f"/connections/{connection['id']}"
    invalid = [
        [{"op": "move", "from": "/name", "path": "/description"}],
        [{"op": "replace", "path": "/name", "value": 5}],
        [{"op": "replace", "path": "/nope/deeper", "value": 1}],
        [],
        {"op": "replace"},
    ]
    for body in invalid:
        stale = api.patch(url, json=body, headers={"If-Match": STALE})
        assert problem_code(stale) == "FLOW-1404-412", (body, stale.text)
        current = api.patch(url, json=body, headers={"If-Match": connection["etag"]})
        assert current.status_code == 400, (body, current.text)


def test_framing_id_and_missing_if_match_come_before_the_precondition(
    api: ApiClient, connection: dict[str, str]
) -> None:
    url = f"/connections/{connection['id']}"
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}]
    unknown = api.patch("/connections/nosuch", json=ops, headers={"If-Match": STALE})
    assert problem_code(unknown) == "FLOW-1101-404", unknown.text
    not_json = api.patch(url, content=b"[{", headers={"If-Match": STALE})
    assert problem_code(not_json) == "FLOW-1100-400", not_json.text
    # a PATCH without Content-Type is read as JSON Patch (Adobe's examples send none)
    no_type = api.patch(url, content=b"[{", headers={"If-Match": STALE, "Content-Type": None})
    assert problem_code(no_type) == "FLOW-1100-400", no_type.text
    missing = api.patch(url, json=ops)
    assert problem_code(missing) == "FLOW-1403-400", missing.text
    assert api.get(url).json()["items"][0]["etag"] == connection["etag"]


def test_an_optional_if_match_is_also_checked_before_the_content(api: ApiClient) -> None:
    dataset_id = create_dataset(api, "precondition-order")
    url = f"/dataSets/{dataset_id}"
    forbidden_change = {"schemaRef": {"id": "x"}}
    stale = api.request(
        "PATCH", url, prefix=CATALOG_PREFIX, json=forbidden_change, headers={"If-Match": STALE}
    )
    assert problem_code(stale) == "FLOW-1404-412", stale.text
    unconditional = api.request("PATCH", url, prefix=CATALOG_PREFIX, json=forbidden_change)
    assert unconditional.status_code == 400, unconditional.text
