"""A resolved XDM schema as the field dicts a Catalog dataset is created from.

XDM scalars map one to one (``long``→integer, ``int``, ``short``, ``byte``,
``double``/``number``, ``boolean``, ``date``, ``date-time``, ``string``);
objects with fields become nested objects. The lake has no list or map
columns yet, so arrays and maps (``identityMap``, objects with only
``additionalProperties``) are kept as JSON text in a ``string`` column.
Objects without any field are left out (a Delta struct needs a field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_XDM_SCALARS = {
    "string": "string",
    "long": "integer",
    "int": "int",
    "short": "short",
    "byte": "byte",
    "double": "number",
    "number": "number",
    "float": "number",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
    "date-time": "date-time",
}
_FORMATS = {"date": "date", "date-time": "date-time"}


def field_dicts(full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"name", "type", "fields"?}]`` for the properties of a full (resolved) view."""
    out = []
    for name, prop in (full.get("properties") or {}).items():
        field = _field(name, prop)
        if field is not None:
            out.append(field)
    return out


def _field(name: str, prop: Mapping[str, Any]) -> dict[str, Any] | None:
    xdm = prop.get("meta:xdmType")
    json_type = prop.get("type")
    if xdm == "map" or json_type == "array" or xdm == "array":
        return {"name": name, "type": "string"}
    if json_type == "object" or xdm == "object":
        children = field_dicts(prop)
        if not children:
            return {"name": name, "type": "string"} if prop.get("additionalProperties") else None
        return {"name": name, "type": "object", "fields": children}
    if json_type == "string" and prop.get("format") in _FORMATS:
        return {"name": name, "type": _FORMATS[str(prop["format"])]}
    if isinstance(xdm, str) and xdm in _XDM_SCALARS:
        return {"name": name, "type": _XDM_SCALARS[xdm]}
    if isinstance(json_type, str) and json_type in _XDM_SCALARS:
        return {"name": name, "type": _XDM_SCALARS[json_type]}
    return {"name": name, "type": "string"}
