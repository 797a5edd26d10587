"""Form fields from an auth JSON Schema, and params back from a POSTed form."""

from __future__ import annotations

import pytest

from flowservice.console.schema_form import form_fields, params_from_form, plain_problem
from flowservice.errors import InvalidRequest

SCHEMA = {
    "type": "object",
    "properties": {
        "host": {"type": "string", "title": "Host name", "description": "where it runs"},
        "port": {"type": "integer"},
        "useTls": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["fast", "safe"]},
        "apiKey": {"type": "string", "format": "password"},
    },
    "required": ["host", "apiKey"],
}


def test_fields_by_type_with_labels_and_required() -> None:
    fields = {f.key: f for f in form_fields(SCHEMA)}
    assert [f.kind for f in fields.values()] == ["text", "integer", "boolean", "enum", "password"]
    assert fields["host"].label == "Host name" and fields["host"].help == "where it runs"
    assert fields["useTls"].label == "Use tls"
    assert fields["mode"].options == ("fast", "safe")
    assert fields["host"].required and not fields["port"].required


def test_typed_values_come_back_except_secrets() -> None:
    typed = {"param.host": "db", "param.apiKey": "k-123"}
    fields = {f.key: f for f in form_fields(SCHEMA, typed)}
    assert fields["host"].value == "db"
    assert fields["apiKey"].value == ""


def test_params_are_typed_and_empty_optionals_left_out() -> None:
    form = {
        "param.host": " db ",
        "param.port": "1433",
        "param.useTls": "true",
        "param.mode": "",
        "param.apiKey": " k ",
    }
    assert params_from_form(SCHEMA, form) == {
        "host": "db",
        "port": 1433,
        "useTls": True,
        "apiKey": " k ",
    }


def test_bad_or_missing_values_are_named_in_plain_words() -> None:
    with pytest.raises(InvalidRequest, match="Port must be a whole number"):
        params_from_form(SCHEMA, {"param.host": "db", "param.port": "x", "param.apiKey": "k"})
    with pytest.raises(InvalidRequest, match="Api key is required"):
        params_from_form(SCHEMA, {"param.host": "db"})


def test_the_api_message_names_the_field_by_its_label() -> None:
    message = "auth.params is not valid: auth.params.port fails its 'type' rule"
    assert plain_problem(message, form_fields(SCHEMA)) == "“Port” fails its 'type' rule"
