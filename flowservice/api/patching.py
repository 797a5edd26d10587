"""JSON Patch with ``If-Match``, shared by every resource that supports PATCH."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import jsonpatch

from flowservice.errors import InvalidRequest, ValidationFailed

SUPPORTED_OPS = frozenset({"add", "replace", "remove"})


def required_etag(if_match: str | None) -> str:
    """The bare etag from an ``If-Match`` header, quoted or not; 1403 when absent."""
    if if_match is None or not if_match.strip():
        raise InvalidRequest("The If-Match header is missing; send the resource's etag.", code=1403)
    value = if_match.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip().strip('"')


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def apply_json_patch(
    document: dict[str, Any],
    operations: Any,
    *,
    allowed_ops: Iterable[str] = SUPPORTED_OPS,
) -> dict[str, Any]:
    """A patched copy of ``document``; the original is never modified."""
    if not isinstance(operations, list) or not operations:
        raise InvalidRequest("The PATCH body must be a non-empty JSON Patch array.", code=1455)
    allowed = frozenset(allowed_ops)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
            raise InvalidRequest("Each JSON Patch operation needs an 'op' and a 'path'.", code=1455)
        if operation["op"] not in allowed:
            raise InvalidRequest(
                f"JSON Patch operation {operation['op']!r} is not supported; use "
                + ", ".join(sorted(allowed)),
                code=1434,
            )
        if not isinstance(operation.get("path"), str):
            raise InvalidRequest("Each JSON Patch operation needs a string 'path'.", code=1455)
    try:
        patched = jsonpatch.JsonPatch(operations).apply(copy.deepcopy(document))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        # the library's message names the path and the problem, never a value
        raise ValidationFailed(f"The patch cannot be applied: {_safe_reason(exc)}") from None
    except (TypeError, KeyError, IndexError, ValueError):
        raise ValidationFailed("The patch cannot be applied to this resource.") from None
    if not isinstance(patched, dict):
        raise ValidationFailed("The patch must leave the resource a JSON object.")
    return patched


def _safe_reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
