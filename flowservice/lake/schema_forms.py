"""The ways a Catalog API request can spell a dataset schema, read into XDM fields.

Accepted, first match wins:

* ``{"fields": [...]}`` or ``{"schema": [...]}``: a list of fields
  ``{"name", "type", "format"?, "nullable"?, "fields"?|"subFields"?, "precision"?, "scale"?}``;
* ``{"schemaRef": {"id", "contentType", "fields": [...]}}``: a schema reference whose
  fields are given inline (we have no Schema Registry to resolve ``id`` against);
* ``{"observableSchema": {"type": "object", "properties": {...}, "required": [...]}}``:
  a JSON Schema subset, honouring ``format`` and ``meta:xdmType``.

Nothing of these means a dataset with only a name (its first batch sets the schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowservice.errors import ValidationFailed
from flowservice.lake.xdm import XdmField, field_from_dict, fields_from_dicts

_INTEGER_RANGES = ((2**7, "byte"), (2**15, "short"), (2**31, "int"))


def dataset_fields(body: Mapping[str, Any]) -> tuple[XdmField, ...] | None:
    """The schema a dataset request carries, or None for a name-only dataset."""
    for key in ("fields", "schema"):
        value = body.get(key)
        if isinstance(value, list):
            return _non_empty(fields_from_dicts(value), key)
    ref = body.get("schemaRef")
    if isinstance(ref, Mapping) and isinstance(ref.get("fields"), list):
        return _non_empty(fields_from_dicts(ref["fields"]), "schemaRef.fields")
    observable = body.get("observableSchema")
    if isinstance(observable, Mapping) and observable.get("properties"):
        return _non_empty(fields_from_json_schema(observable), "observableSchema")
    return None


def _non_empty(fields: tuple[XdmField, ...], where: str) -> tuple[XdmField, ...]:
    if not fields:
        raise ValidationFailed(f"{where}: a schema needs at least one field")
    return fields


def fields_from_json_schema(
    schema: Mapping[str, Any], *, where: str = "observableSchema"
) -> tuple[XdmField, ...]:
    """XDM fields from a JSON Schema object's ``properties``."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        raise ValidationFailed(f"{where}: 'properties' must be an object")
    required = schema.get("required") or []
    out = []
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            raise ValidationFailed(f"{where}.{name}: must be an object")
        out.append(_property(name, prop, nullable=name not in required, where=f"{where}.{name}"))
    return fields_from_dicts([f.to_dict() for f in out])


def _property(name: str, prop: Mapping[str, Any], *, nullable: bool, where: str) -> XdmField:
    declared = prop.get("meta:xdmType")
    json_type = prop.get("type")
    if json_type == "object" or declared == "object":
        children = fields_from_json_schema(prop, where=where)
        return XdmField(name, "object", nullable, children)
    if isinstance(declared, str) and declared not in ("string", "object"):
        spelled: str = declared
    elif json_type == "integer":
        spelled = _integer_type(prop)
    elif isinstance(json_type, str):
        spelled = json_type
    else:
        raise ValidationFailed(f"{where}: needs a 'type'")
    raw = {"name": name, "type": spelled, "format": prop.get("format"), "nullable": nullable}
    return field_from_dict(raw, where=where.rsplit(".", 1)[0])


def _integer_type(prop: Mapping[str, Any]) -> str:
    """XDM writes Int/Short/Byte as JSON integers with a range; none means Long."""
    low, high = prop.get("minimum"), prop.get("maximum")
    if isinstance(low, int) and isinstance(high, int):
        for bound, name in _INTEGER_RANGES:
            if low >= -bound and high <= bound - 1:
                return name
    return "integer"
