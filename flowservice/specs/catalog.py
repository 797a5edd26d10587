"""Load the spec JSON files and compile the JSON Schemas they carry.

Specs are served exactly as stored. One deliberate difference between what is
served and what is enforced: ``pattern`` is not enforced on secret params
(``format: password``). The documented SQL Server pattern insists on one
keyword order that real ADO.NET strings do not follow, the connector's own
parser is the real check, and a pattern failure would have to quote the
secret to be useful.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from flowservice.errors import InvalidRequest, ValidationFailed

SPECS_DIR = Path(__file__).parent
SECRET_FORMAT = "password"


@dataclass(frozen=True)
class AuthSpec:
    name: str
    type: str
    schema: dict[str, Any]

    @property
    def secret_keys(self) -> frozenset[str]:
        props = self.schema.get("properties", {})
        return frozenset(k for k, v in props.items() if v.get("format") == SECRET_FORMAT)

    def validate(self, params: Any) -> None:
        """``ValidationFailed`` naming each problem; secret values never quoted."""
        errors = sorted(_auth_validator(self).iter_errors(params), key=lambda e: list(e.path))
        if errors:
            problems = [_describe(err, self.secret_keys) for err in errors]
            raise ValidationFailed("auth.params is not valid: " + "; ".join(problems))


def _describe(err: Any, secret_keys: frozenset[str]) -> str:
    where = "auth.params" + "".join(f".{p}" for p in err.path)
    if err.path and str(err.path[0]) in secret_keys:
        return f"{where} fails its '{err.validator}' rule"
    if err.validator in ("type", "enum", "const", "minLength", "maxLength", "pattern", "format"):
        return f"{where} fails its '{err.validator}' rule ({err.validator_value!r})"
    return f"{where}: {err.message}"


def _auth_validator(spec: AuthSpec) -> Draft7Validator:
    schema = copy.deepcopy(spec.schema)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict) and prop.get("format") == SECRET_FORMAT:
            prop.pop("pattern", None)
    return Draft7Validator(schema)


class ConnectionSpec:
    """One connection spec document with helpers for its auth specs."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc: dict[str, Any] = dict(doc)
        self.id: str = doc["id"]
        self.name: str = doc["name"]
        self.version: str = doc.get("version", "1.0")
        self.is_source: bool = bool(doc.get("attributes", {}).get("isSource", False))

    def auth_spec(self, name: str) -> AuthSpec:
        for entry in self.doc.get("authSpec", []):
            if entry["name"] == name:
                return AuthSpec(
                    name=entry["name"],
                    type=entry.get("type", ""),
                    schema=json.loads(json.dumps(entry["spec"])),
                )
        raise InvalidRequest(
            f"authSpec name {name!r} is not found for connection spec {self.id}", code=1415
        )


class SpecCatalog:
    """All connection specs, by id."""

    def __init__(self, specs: list[ConnectionSpec]) -> None:
        self._by_id = {spec.id: spec for spec in specs}

    def all(self) -> list[ConnectionSpec]:
        return list(self._by_id.values())

    def find(self, spec_id: str) -> ConnectionSpec | None:
        return self._by_id.get(spec_id)


def _load_dir(directory: Path) -> list[ConnectionSpec]:
    return [
        ConnectionSpec(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(directory.glob("*.json"))
    ]


@cache
def connection_specs() -> SpecCatalog:
    return SpecCatalog(_load_dir(SPECS_DIR / "connection"))
