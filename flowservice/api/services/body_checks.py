"""Checks writes share: the body, the spec, params against a schema, the base connection."""

from __future__ import annotations

from typing import Any, TypeVar

from jsonschema import Draft7Validator
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from flowservice.api.errors import describe_validation
from flowservice.api.patching import apply_json_patch
from flowservice.api.runtime import Runtime
from flowservice.errors import InvalidRequest, NotFound, ValidationFailed
from flowservice.specs.catalog import ConnectionSpec
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_body(model: type[ModelT], body: Any) -> ModelT:
    """``body`` as ``model``, or a ValidationFailed naming every problem under ``body``."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(describe_validation(list(exc.errors()), "body")) from None


def connection_spec(runtime: Runtime, spec_id: str, version: str | None) -> ConnectionSpec:
    """The connection spec ``spec_id``, at ``version`` when one is given (else 1100)."""
    spec = runtime.specs.find(spec_id)
    if spec is None:
        raise InvalidRequest(f"Connection spec {spec_id} is not found.", code=1100)
    if version is not None and version != spec.version:
        raise InvalidRequest(
            f"Connection spec {spec_id} has version {spec.version}, not {version}.", code=1100
        )
    return spec


def check_params(schema: dict[str, Any], params: dict[str, Any]) -> None:
    """ValidationFailed naming the first five places where ``params`` breaks ``schema``."""
    problems = sorted(Draft7Validator(schema).iter_errors(params), key=lambda e: list(e.path))
    if problems:
        raise ValidationFailed(
            "; ".join(
                ".".join(["params", *(str(p) for p in e.path)]) + f": {e.message}"
                for e in problems[:5]
            )
        )


def base_connection(session: Session, scope: Scope, base_id: str, spec: ConnectionSpec) -> Resource:
    """The base connection, which must be in this org and sandbox and of ``spec``."""
    try:
        base = resources.get_resource(session, scope=scope, kind="connections", resource_id=base_id)
    except NotFound:
        raise ValidationFailed(
            f"baseConnectionId {base_id} is not a base connection of this org and sandbox."
        ) from None
    if base.spec_id != spec.id:
        raise ValidationFailed(
            f"baseConnectionId {base_id} uses connection spec {base.spec_id}, "
            f"not {spec.id} ({spec.name})."
        )
    return base


def patched_connection(view: dict[str, Any], operations: Any, *, noun: str) -> dict[str, Any]:
    """``view`` after the JSON Patch ``operations``; its ``connectionSpec`` (1414) and its
    ``baseConnectionId`` (400) cannot be changed."""
    patched = apply_json_patch(view, operations)
    if patched.get("connectionSpec") != view["connectionSpec"]:
        raise InvalidRequest(f"The connectionSpec of a {noun} cannot be changed.", code=1414)
    if patched.get("baseConnectionId") != view.get("baseConnectionId"):
        raise ValidationFailed(f"The baseConnectionId of a {noun} cannot be changed.")
    return patched
