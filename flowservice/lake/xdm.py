"""XDM field types and their Arrow (and so Delta) counterparts, in one place.

A dataset schema is a list of :class:`XdmField`. Types are the XDM scalar names
(``string``, ``number``, ``integer``, ``int``, ``short``, ``byte``, ``boolean``,
``date``, ``date-time``) plus two extensions that keep SQL Server values exact:
``decimal(p,s)`` (1 <= p <= 38, 0 <= s <= p) and ``binary``; ``object`` holds
nested ``fields`` (a struct).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from flowservice.errors import SchemaMismatch, ValidationFailed

SCALAR_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "int": pa.int32(),
    "short": pa.int16(),
    "byte": pa.int8(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "date-time": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
}

_DECIMAL = re.compile(r"^decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$")
# Catalog API dataType names that mean one of ours (its "number" with precision and
# scale is a decimal, handled in field_from_dict).
_ALIASES = {"long": "integer", "double": "number", "float": "number", "datetime": "date-time"}
# XDM JSON writes dates as strings with a format; accept that spelling on input.
_STRING_FORMATS = {"date": "date", "date-time": "date-time"}


@dataclass(frozen=True)
class XdmField:
    """One column of a dataset: name, XDM type, nullability, nested fields for objects."""

    name: str
    type: str
    nullable: bool = True
    fields: tuple[XdmField, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if not self.nullable:
            out["nullable"] = False
        if self.type == "object":
            out["fields"] = [f.to_dict() for f in self.fields]
        return out


def parse_type(spelling: str) -> str:
    """Return the canonical form of an XDM type name, or raise ValidationFailed."""
    text = spelling.strip().lower()
    text = _ALIASES.get(text, text)
    if text in SCALAR_TYPES or text == "object":
        return text
    match = _DECIMAL.match(text)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise ValidationFailed(
                f"decimal({precision},{scale}) is out of range: need 1 <= p <= 38 and s <= p"
            )
        return f"decimal({precision},{scale})"
    raise ValidationFailed(f"unknown XDM type {spelling!r}")


def field_from_dict(raw: Mapping[str, Any], *, where: str = "fields") -> XdmField:
    """Build a field from ``{"name", "type", "format"?, "nullable"?, "fields"?}``."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationFailed(f"{where}: every field needs a non-empty string 'name'")
    spelled = raw.get("type")
    if not isinstance(spelled, str):
        raise ValidationFailed(f"{where}.{name}: 'type' must be a string")
    fmt = raw.get("format")
    if spelled == "string" and isinstance(fmt, str) and fmt in _STRING_FORMATS:
        spelled = _STRING_FORMATS[fmt]
    precision, scale = raw.get("precision"), raw.get("scale")
    if spelled in ("number", "decimal") and isinstance(precision, int):
        spelled = f"decimal({precision},{scale if isinstance(scale, int) else 0})"
    xdm_type = parse_type(spelled)
    nullable = raw.get("nullable", True)
    if not isinstance(nullable, bool):
        raise ValidationFailed(f"{where}.{name}: 'nullable' must be a boolean")
    children: tuple[XdmField, ...] = ()
    if xdm_type == "object":
        raw_children = raw.get("fields", raw.get("subFields"))
        if not isinstance(raw_children, list) or not raw_children:
            raise ValidationFailed(f"{where}.{name}: an object needs a non-empty 'fields' list")
        if not all(isinstance(c, Mapping) for c in raw_children):
            raise ValidationFailed(f"{where}.{name}: every field must be an object")
        children = tuple(field_from_dict(c, where=f"{where}.{name}") for c in raw_children)
        _reject_duplicates(children, where=f"{where}.{name}")
    return XdmField(name=name, type=xdm_type, nullable=nullable, fields=children)


def fields_from_dicts(raw: Sequence[Mapping[str, Any]]) -> tuple[XdmField, ...]:
    """Parse a whole field list, rejecting duplicate names."""
    if not all(isinstance(item, Mapping) for item in raw):
        raise ValidationFailed("fields: every field must be an object")
    fields = tuple(field_from_dict(item) for item in raw)
    _reject_duplicates(fields, where="fields")
    return fields


def _reject_duplicates(fields: Sequence[XdmField], *, where: str) -> None:
    seen: set[str] = set()
    for field in fields:
        # Delta resolves column names case-insensitively, so "Id" and "id" collide.
        key = field.name.lower()
        if key in seen:
            raise ValidationFailed(f"{where}: duplicate field name {field.name!r}")
        seen.add(key)


def arrow_type(field: XdmField) -> pa.DataType:
    """The Arrow type a field is stored as."""
    if field.type == "object":
        return pa.struct([arrow_field(child) for child in field.fields])
    match = _DECIMAL.match(field.type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return SCALAR_TYPES[field.type]


def arrow_field(field: XdmField) -> pa.Field:
    return pa.field(field.name, arrow_type(field), nullable=field.nullable)


def arrow_schema(fields: Sequence[XdmField]) -> pa.Schema:
    return pa.schema([arrow_field(f) for f in fields])


def xdm_type_of(data_type: pa.DataType, *, column: str) -> XdmField:
    """The XDM field an Arrow column becomes; raises SchemaMismatch for unsupported types."""
    return _xdm_field(pa.field(column, data_type), path=column)


def fields_from_arrow(schema: pa.Schema) -> tuple[XdmField, ...]:
    """The XDM fields of an Arrow (or Delta) schema."""
    return tuple(_xdm_field(f, path=f.name) for f in schema)


def _xdm_field(field: pa.Field, *, path: str) -> XdmField:
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_struct(t):
        children = tuple(
            _xdm_field(t.field(i), path=f"{path}.{t.field(i).name}") for i in range(t.num_fields)
        )
        return XdmField(field.name, "object", field.nullable, children)
    name = _scalar_name(t)
    if name is None:
        raise SchemaMismatch(
            f"column {path!r} has Arrow type {t} which has no XDM type; cast it in the mapping",
            resource_type="column",
            resource_id=path,
        )
    return XdmField(field.name, name, field.nullable)


def _scalar_name(t: pa.DataType) -> str | None:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_signed_integer(t):
        return {8: "byte", 16: "short", 32: "int", 64: "integer"}[t.bit_width]
    if pa.types.is_unsigned_integer(t):
        # One signed size up so every value fits; uint64 needs 20 digits.
        return {8: "short", 16: "int", 32: "integer", 64: "decimal(20,0)"}[t.bit_width]
    if pa.types.is_decimal(t) and t.precision <= 38:
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "date-time"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    ):
        return "binary"
    if pa.types.is_null(t):
        # An all-null first batch says nothing about the type; string holds anything later.
        return "string"
    return None
