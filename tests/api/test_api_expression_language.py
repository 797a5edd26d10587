"""Data Prep /languages/el: the function and operator listings, and expression validation."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from openapi_contract import check_contract
from service_harness import ApiClient, problem_code

from flowservice.settings import CONVERSION_PREFIX


def conv(api: ApiClient, method: str, path: str, **kwargs: Any) -> Any:
    return api.request(method, path, prefix=CONVERSION_PREFIX, **kwargs)


def test_functions_list_adobe_names_with_signatures(api: ApiClient) -> None:
    response = conv(api, "GET", "/languages/el/functions")
    assert response.status_code == 200, response.text
    listed = {f["function"]: f for f in response.json()}
    for name in ("sha256", "iif", "decode", "extract_regex", "get_url_host", "date_part", "uuid"):
        assert name in listed
    assert listed["sha256"]["syntax"] == "sha256(INPUT, CHARSET)"
    assert listed["sha256"]["category"] == "Hashing"
    assert listed["iif"]["syntax"] == "iif(EXPRESSION, TRUE_VALUE, FALSE_VALUE)"
    first = listed["concat"]
    assert set(first) >= {"category", "function", "description", "syntax", "example", "result"}


def test_operators_list(api: ApiClient) -> None:
    response = conv(api, "GET", "/languages/el/operators")
    assert response.status_code == 200
    symbols = {(o["operatorSymbol"], o["numberOfOperands"]) for o in response.json()}
    expected = {("+", 2), ("-", 1), ("-", 2), ("!", 1), ("&&", 2), ("||", 2), ("==", 2), ("%", 2)}
    assert expected <= symbols


@pytest.mark.parametrize(
    "body",
    [
        {"expression": 'concat("Hi", ",", "there", "!")'},
        {"expression": {"expression": 'concat("Hi", ",", "there", "!")'}},
        {"expression": 'iif(age >= 18 && !is_null(email), sha256(lower(email)), "minor")'},
        {"expression": "n + 1", "inputSchema": {"fields": [{"name": "n", "type": "integer"}]}},
    ],
)
def test_valid_expression_is_true(api: ApiClient, body: dict[str, Any]) -> None:
    response = conv(api, "POST", "/languages/el/validate", json=body)
    assert response.status_code == 200, response.text
    assert response.json() is True


@pytest.mark.parametrize(
    ("expression", "position", "reason"),
    [
        ('concat("a", ', 12, "ends too early"),
        ("nosuch(a)", 0, "unknown function nosuch()"),
        ('sha256(a, "EBCDIC")', 10, "unknown charset"),
        ('extract_regex(a, "(")', 17, "bad regular expression"),
        ('date_part("fortnight", a)', 10, "unknown date part"),
    ],
)
def test_invalid_expression_names_position_and_reason(
    api: ApiClient, expression: str, position: int, reason: str
) -> None:
    response = conv(api, "POST", "/languages/el/validate", json={"expression": expression})
    assert response.status_code == 400, response.text
    assert problem_code(response) == "FLOW-1419-400"
    assert f"at position {position}" in response.text and reason in response.text


def test_typed_columns_are_checked(api: ApiClient) -> None:
    body = {"expression": "n + 1", "inputSchema": {"fields": [{"name": "n", "type": "string"}]}}
    response = conv(api, "POST", "/languages/el/validate", json=body)
    assert response.status_code == 400
    assert "needs a number" in response.text


def test_empty_expression_is_a_bad_request(api: ApiClient) -> None:
    response = conv(api, "POST", "/languages/el/validate", json={"expression": " "})
    assert response.status_code == 400


def test_preview_and_validate_match_the_contract(api: ApiClient) -> None:
    mapping_set = {
        "inputSchema": {"fields": [{"name": "email", "type": "string"}]},
        "mappings": [
            {"sourceType": "EXPRESSION", "source": "sha256(lower(email))", "destination": "h"},
        ],
    }
    validated = conv(api, "POST", "/mappingSets/validate", json=mapping_set)
    assert validated.status_code == 200, validated.text
    check_contract("data-prep.yaml", "MappingValidationResponse", validated.json())
    preview = conv(
        api,
        "POST",
        "/mappingSets/preview",
        json={"data": {"email": "Me@Example.com"}, "mappingSet": mapping_set},
    )
    assert preview.status_code == 200, preview.text
    check_contract("data-prep.yaml", "PreviewResponse", preview.json())
    assert preview.json() == {
        "data": {"h": hashlib.sha256(b"me@example.com").hexdigest()},
        "errors": [],
    }
