"""OpenAPI ``requestBody`` declarations for routes that read their body raw (``JsonBody``).

Schemas point into ``#/components/schemas``; the models they need travel in a
``$defs`` beside the ``$ref`` until ``api/openapi_document.py`` moves them
there, so the served document resolves every ``$ref`` from its root.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from flowservice.api.patching import SUPPORTED_OPS

COMPONENT_REF = "#/components/schemas/{model}"


def component_ref(name: str) -> str:
    return COMPONENT_REF.format(model=name)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a required JSON body shaped like ``model``."""
    refs, definitions = models_json_schema(
        [(model, "validation")], by_alias=True, ref_template=COMPONENT_REF
    )
    schema = {**refs[(model, "validation")], "$defs": definitions.get("$defs", {})}
    return _required(schema)


def _required(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# the body is validated by api/patching.py; this says what it accepts
JSON_PATCH_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "description": "JSON Patch (RFC 6902) operations, applied in order",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": sorted(SUPPORTED_OPS)},
            "path": {
                "type": "string",
                "pattern": "^(/[^/]*)*$",
                "description": "A JSON Pointer, e.g. /name",
            },
            "value": {"description": "The new value (add, replace)"},
        },
    },
}

JSON_PATCH_BODY = _required(
    {"$ref": component_ref("JsonPatch"), "$defs": {"JsonPatch": JSON_PATCH_SCHEMA}}
)
