"""Resolve ``$ref``s: a resource's full properties (the ``xed-full`` view) and its dependencies."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flowservice.errors import InvalidRequest, ValidationFailed

Lookup = Callable[[str], Mapping[str, Any] | None]
_MAX_DEPTH = 32
_STRUCTURE = ("allOf", "definitions", "properties", "required", "$ref")


def full_view(doc: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    """``doc`` with every ``$ref`` resolved into ``properties`` (no allOf, no definitions)."""
    properties, required = _flatten(doc, lookup, depth=0)
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k not in _STRUCTURE}
    out["properties"] = properties
    if required:
        out["required"] = required
    return out


def _flatten(
    doc: Mapping[str, Any], lookup: Lookup, *, depth: int
) -> tuple[dict[str, Any], list[str]]:
    if depth > _MAX_DEPTH:
        raise InvalidRequest("The references nest too deeply (or form a cycle).", code=1455)
    properties: dict[str, Any] = {}
    required: list[str] = []
    parts: list[Mapping[str, Any]] = []
    if isinstance(doc.get("properties"), Mapping):
        parts.append(doc)
    definitions = doc.get("definitions") if isinstance(doc.get("definitions"), Mapping) else {}
    all_of = doc.get("allOf") or []
    if not isinstance(all_of, list):
        raise InvalidRequest("allOf must be a list.", code=1455)
    for entry in all_of:
        ref = entry.get("$ref") if isinstance(entry, Mapping) else None
        if not isinstance(ref, str):
            raise InvalidRequest("Every allOf entry needs a string $ref.", code=1455)
        if ref.startswith("#/definitions/"):
            local = (definitions or {}).get(ref.removeprefix("#/definitions/"))
            if not isinstance(local, Mapping):
                raise ValidationFailed(f"The reference {ref} names no definition.")
            parts.append(local)
        else:
            target = _lookup(lookup, ref)
            props, req = _flatten(target, lookup, depth=depth + 1)
            parts.append({"properties": props, "required": req})
    for part in parts:
        props = part.get("properties") or {}
        listed = part.get("required") or []
        if not isinstance(props, Mapping) or not isinstance(listed, list):
            raise InvalidRequest("properties must be an object and required a list.", code=1455)
        for name, prop in props.items():
            resolved = resolve_property(prop, lookup, depth=depth + 1, where=name)
            _merge_into(properties, name, resolved)
        required.extend(r for r in listed if isinstance(r, str) and r not in required)
    return properties, required


def _lookup(lookup: Lookup, ref: str) -> Mapping[str, Any]:
    target = lookup(ref)
    if target is None:
        raise ValidationFailed(f"The reference {ref} names no known XDM resource.")
    return target


def resolve_property(prop: Any, lookup: Lookup, *, depth: int, where: str) -> dict[str, Any]:
    """One property with data type ``$ref``s replaced by their fields, recursively."""
    if not isinstance(prop, Mapping):
        raise InvalidRequest(f"The property {where} must be an object.", code=1455)
    if depth > _MAX_DEPTH:
        raise InvalidRequest("The properties nest too deeply (or form a cycle).", code=1455)
    if "properties" in prop and not isinstance(prop["properties"], Mapping):
        raise InvalidRequest(f"The properties of {where} must be an object.", code=1455)
    out = {k: copy.deepcopy(v) for k, v in prop.items() if k not in ("$ref", "properties", "items")}
    ref = prop.get("$ref")
    if isinstance(ref, str):
        target = _lookup(lookup, ref)
        props, _ = _flatten(target, lookup, depth=depth + 1)
        out.update({"type": "object", "meta:xdmType": "object", "properties": props})
        out.setdefault("title", target.get("title"))
    if isinstance(prop.get("properties"), Mapping):
        merged = dict(out.get("properties") or {})
        for name, child in prop["properties"].items():
            resolved = resolve_property(child, lookup, depth=depth + 1, where=f"{where}.{name}")
            _merge_into(merged, name, resolved)
        out["properties"] = merged
    if "items" in prop:
        out["items"] = resolve_property(prop["items"], lookup, depth=depth + 1, where=where)
    return out


def _merge_into(properties: dict[str, Any], name: str, prop: dict[str, Any]) -> None:
    """Two sources of one field: objects merge their fields, anything else must agree."""
    existing = properties.get(name)
    if existing is None:
        properties[name] = prop
        return
    if existing.get("type") == "object" and prop.get("type") == "object":
        merged = dict(existing.get("properties") or {})
        for child, child_prop in (prop.get("properties") or {}).items():
            _merge_into(merged, child, child_prop)
        properties[name] = {**existing, "properties": merged}
    elif _type_of(existing) != _type_of(prop):
        raise InvalidRequest(f"The field {name} is defined twice with different types.", code=1455)


def _type_of(prop: Mapping[str, Any]) -> tuple[Any, ...]:
    return (prop.get("type"), prop.get("format"), prop.get("meta:xdmType"))


def references(doc: Mapping[str, Any]) -> Iterator[str]:
    """Every non-local ``$ref`` in ``doc`` (allOf entries, data type fields), in order."""
    pending: list[Any] = [doc]
    while pending:
        node = pending.pop(0)
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                yield ref
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def closure(doc: Mapping[str, Any], lookup: Lookup) -> list[str]:
    """Every resource ``doc`` depends on, directly or through others (``meta:extends``)."""
    seen: list[str] = []
    pending = list(references(doc))
    while pending and len(seen) < 1000:
        ref = pending.pop(0)
        if ref in seen:
            continue
        seen.append(ref)
        target = lookup(ref)
        if target is not None:
            pending.extend(references(target))
            pending.extend(e for e in target.get("meta:extends") or () if isinstance(e, str))
    return seen
