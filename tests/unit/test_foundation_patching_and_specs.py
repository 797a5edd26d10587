"""JSON Patch helpers and auth spec validation (no secret in any message)."""

from __future__ import annotations

import pytest

from flowservice.api.patching import apply_json_patch, required_etag
from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.specs.catalog import connection_specs

SQLSERVER = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"


def test_if_match_forms() -> None:
    assert required_etag('"abc"') == "abc"
    assert required_etag("abc") == "abc"
    assert required_etag('W/"abc"') == "abc"
    for missing in (None, "", "  "):
        with pytest.raises(InvalidRequest) as info:
            required_etag(missing)
        assert info.value.code == 1403


def test_patch_ops() -> None:
    doc = {"name": "a", "auth": {"params": {"k": 1}}}
    patched = apply_json_patch(doc, [{"op": "replace", "path": "/auth/params/k", "value": 2}])
    assert patched["auth"]["params"]["k"] == 2 and doc["auth"]["params"]["k"] == 1
    with pytest.raises(InvalidRequest) as info:
        apply_json_patch(doc, [{"op": "copy", "from": "/name", "path": "/x"}])
    assert info.value.code == 1434
    with pytest.raises(ValidationFailed):
        apply_json_patch(doc, [{"op": "remove", "path": "/nope"}])
    with pytest.raises(InvalidRequest):
        apply_json_patch(doc, {"op": "remove", "path": "/name"})


def test_documented_pattern_is_served_but_not_enforced() -> None:
    spec = connection_specs().find(SQLSERVER)
    assert spec is not None
    auth = spec.auth_spec("Connection String Based Authentication")
    assert "pattern" in auth.schema["properties"]["connectionString"]
    assert auth.secret_keys == frozenset({"connectionString"})
    auth.validate({"connectionString": "Server=h;Database=d;UID=u;PWD=p;"})


def test_schema_errors_never_quote_secrets() -> None:
    spec = connection_specs().find(SQLSERVER)
    assert spec is not None
    auth = spec.auth_spec("Connection String Based Authentication")
    with pytest.raises(ValidationFailed) as info:
        auth.validate({"connectionString": ["Password=leak"]})
    assert "leak" not in info.value.message and "connectionString" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        auth.validate({})
    assert "connectionString" in info.value.message


def test_unknown_auth_spec_name_is_1415() -> None:
    spec = connection_specs().find(SQLSERVER)
    assert spec is not None
    with pytest.raises(InvalidRequest) as info:
        spec.auth_spec("OAuth")
    assert info.value.code == 1415
