"""Checks writes share: the body against its wire model, the spec, params against a schema."""

from __future__ import annotations

from typing import Any, TypeVar

from jsonschema import Draft7Validator
from pydantic import BaseModel, ValidationError

from flowservice.api.errors import describe_validation
from flowservice.api.runtime import Runtime
from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.specs.catalog import ConnectionSpec

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
