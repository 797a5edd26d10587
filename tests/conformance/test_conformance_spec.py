"""The connection spec of each case: it loads, its auth schema fits, bad params are refused."""

from __future__ import annotations

from typing import Any

import pytest
from cases.base import INVALID_PASSWORD, SourceCase
from secret_leaks import exception_texts, leaked

from flowservice.connectors.registry import connectors
from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.specs.catalog import AuthSpec, connection_specs


def auth_spec(case: SourceCase) -> AuthSpec:
    spec = connection_specs().find(case.spec_id)
    assert spec is not None, f"no spec {case.spec_id} in flowservice/specs/connection"
    return spec.auth_spec(case.auth_spec_name)


def malformed(params: dict[str, Any], schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """Params the schema must refuse, derived from the good ones."""
    found: list[tuple[str, Any]] = [("a list, not an object", [params])]
    for key in schema.get("required", []):
        found.append((f"without {key}", {k: v for k, v in params.items() if k != key}))
    for key, prop in schema.get("properties", {}).items():
        if prop.get("type") == "string" and key in params:
            found.append((f"{key} not a string", {**params, key: [INVALID_PASSWORD]}))
            found.append((f"{key} a number", {**params, key: 5432}))
    return found


def test_spec_loads_as_a_source_with_its_connector(case: SourceCase) -> None:
    spec = connection_specs().find(case.spec_id)
    assert spec is not None
    assert spec.is_source
    assert connectors()[case.spec_id].connection_spec_id == case.spec_id
    assert any(entry["name"] == case.auth_spec_name for entry in spec.doc["authSpec"])


def test_auth_schema_accepts_the_live_params(case: SourceCase) -> None:
    spec = auth_spec(case)
    for params in (case.auth_params(), case.wrong_password_auth(), case.unreachable_auth()):
        spec.validate(params)
        connectors()[case.spec_id].validate_auth(spec.name, params)


def test_every_param_holding_the_password_is_a_secret(case: SourceCase) -> None:
    spec = auth_spec(case)
    good, wrong = case.auth_params(), case.wrong_password_auth()
    holding = {k for k in good.keys() | wrong.keys() if good.get(k) != wrong.get(k)}
    assert holding, "the password is in no auth param"
    assert holding <= spec.secret_keys


def test_masked_secrets_hide_the_password(case: SourceCase) -> None:
    cls = connectors()[case.spec_id]
    params = case.auth_params()
    for key in auth_spec(case).secret_keys & params.keys():
        masked = cls.mask_secret(key, params[key])
        assert not leaked(case.secrets(), [masked]), masked


def test_auth_schema_refuses_malformed_params_without_quoting_them(case: SourceCase) -> None:
    spec = auth_spec(case)
    for what, params in malformed(case.auth_params(), spec.schema):
        with pytest.raises(ValidationFailed) as caught:
            spec.validate(params)
        assert not leaked(case.secrets(), exception_texts(caught.value)), what


def test_validate_auth_refuses_bad_strings_without_echoing_secrets(case: SourceCase) -> None:
    spec = auth_spec(case)
    cls = connectors()[case.spec_id]
    bad = case.invalid_auth_params()
    assert bad, "the case names no params validate_auth must refuse"
    for params in bad:
        spec.validate(params)  # the schema lets them through: only the connector can tell
        with pytest.raises(InvalidRequest) as caught:
            cls.validate_auth(spec.name, params)
        assert caught.value.message
        assert not leaked(case.secrets(), exception_texts(caught.value)), params
