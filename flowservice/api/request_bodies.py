"""OpenAPI ``requestBody`` declarations for routes that read their body raw (``JsonBody``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from flowservice.api.schemas.common import JsonPatchOp


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a required JSON body shaped like ``model``."""
    return _required({"schema": model.model_json_schema(by_alias=True)})


def _required(media: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


# the body is validated by api/patching.py, so the schema is documentation only
JSON_PATCH_BODY = _required({"schema": {"type": "array", "items": JsonPatchOp.model_json_schema()}})
