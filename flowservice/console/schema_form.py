"""Form fields from a connection spec's auth JSON Schema, and the params a POSTed form gives.

Only flat schemas of strings, numbers, integers, booleans and enums become fields;
a secret (``format: password``) is a password input whose value is never sent back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from flowservice.errors import InvalidRequest
from flowservice.specs.catalog import SECRET_FORMAT

FIELD_PREFIX = "param."  # form names of auth params, apart from name, description and csrf

FieldKind = Literal["text", "password", "integer", "number", "boolean", "enum"]


@dataclass(frozen=True)
class FormField:
    """One auth param as the connect form shows it."""

    key: str
    label: str
    help: str
    kind: FieldKind
    required: bool
    options: tuple[str, ...] = ()
    example: str = ""
    value: str = ""  # what the user typed; always empty for a secret

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.key

    @property
    def input_id(self) -> str:
        return "param-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)


def _label(key: str, prop: dict[str, Any]) -> str:
    title = prop.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower()


def _kind(prop: dict[str, Any]) -> FieldKind:
    if isinstance(prop.get("enum"), list):
        return "enum"
    if prop.get("format") == SECRET_FORMAT:
        return "password"
    declared = prop.get("type")
    if declared in ("integer", "number", "boolean"):
        kind: FieldKind = declared
        return kind
    return "text"


def _example(prop: dict[str, Any]) -> str:
    examples = prop.get("examples")
    if prop.get("format") == SECRET_FORMAT or not isinstance(examples, list) or not examples:
        return ""
    return str(examples[0])


def form_fields(schema: dict[str, Any], typed: dict[str, str] | None = None) -> list[FormField]:
    """The fields of ``schema``'s properties in order, with the non-secret values typed before."""
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields = []
    for key, prop in props.items():
        if not isinstance(prop, dict):
            continue
        kind = _kind(prop)
        value = "" if kind == "password" else (typed or {}).get(FIELD_PREFIX + key, "")
        fields.append(
            FormField(
                key=key,
                label=_label(key, prop),
                help=str(prop.get("description") or ""),
                kind=kind,
                required=key in required,
                options=tuple(str(o) for o in prop.get("enum") or ()),
                example=_example(prop),
                value=value,
            )
        )
    return fields


def _typed(field: FormField, raw: str, enum: list[Any]) -> Any:
    if field.kind == "enum":
        return next((option for option in enum if str(option) == raw), raw)
    if field.kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise InvalidRequest(f"{field.label} must be a whole number.") from None
    if field.kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise InvalidRequest(f"{field.label} must be a number.") from None
    return raw


def params_from_form(schema: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The auth params of a POSTed form; an empty optional field is left out."""
    params: dict[str, Any] = {}
    props = schema.get("properties") or {}
    for field in form_fields(schema):
        if field.kind == "boolean":
            params[field.key] = form.get(field.input_name) == "true"
            continue
        raw = form.get(field.input_name, "")
        if field.kind != "password":
            raw = raw.strip()
        if raw == "" and not field.required:
            continue
        if raw == "":
            raise InvalidRequest(f"{field.label} is required.")
        params[field.key] = _typed(field, raw, list(props[field.key].get("enum") or []))
    return params


def plain_problem(message: str, fields: list[FormField]) -> str:
    """The API's message with ``auth.params.key`` replaced by the field's label."""
    message = message.replace("auth.params is not valid: ", "")
    for field in sorted(fields, key=lambda f: len(f.key), reverse=True):
        message = message.replace(f"auth.params.{field.key}", f"“{field.label}”")
    return message
