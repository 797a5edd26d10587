"""Adobe's rule for a schema a dataset uses: only additive changes.

Fields may be added (optional ones); no field may be removed or renamed, no
type changed, nothing may become required. Both sides are ``xed-full`` views
(see ``resolve.full_view``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What makes ``new`` incompatible with ``old``, one line each (empty: additive only)."""
    problems: list[str] = []
    _compare_object(old, new, "", problems)
    return problems


def _signature(prop: Mapping[str, Any]) -> tuple[Any, ...]:
    return (prop.get("type"), prop.get("format"), prop.get("meta:xdmType"))


def _compare_object(
    old: Mapping[str, Any], new: Mapping[str, Any], where: str, problems: list[str]
) -> None:
    old_props = old.get("properties") or {}
    new_props = new.get("properties") or {}
    for name, old_prop in old_props.items():
        path = f"{where}/{name}"
        new_prop = new_props.get(name)
        if new_prop is None:
            problems.append(f"{path} was removed")
            continue
        _compare_property(old_prop, new_prop, path, problems)
    added_required = _required(new) - _required(old)
    for name in sorted(added_required):
        problems.append(f"{where}/{name} became required")


def _required(node: Mapping[str, Any]) -> set[str]:
    listed = node.get("required")
    return {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()


def _compare_property(
    old: Mapping[str, Any], new: Mapping[str, Any], path: str, problems: list[str]
) -> None:
    if _signature(old) != _signature(new):
        problems.append(f"{path} changed type from {_spelled(old)} to {_spelled(new)}")
        return
    if "properties" in old or "properties" in new:
        _compare_object(old, new, path, problems)
    for key in ("items", "additionalProperties"):
        old_child, new_child = old.get(key), new.get(key)
        if isinstance(old_child, Mapping):
            if not isinstance(new_child, Mapping):
                problems.append(f"{path} changed the shape of its {key}")
            else:
                _compare_property(old_child, new_child, f"{path}[]", problems)


def _spelled(prop: Mapping[str, Any]) -> str:
    xdm = prop.get("meta:xdmType")
    fmt = prop.get("format")
    return str(xdm or (f"{prop.get('type')}({fmt})" if fmt else prop.get("type")))
