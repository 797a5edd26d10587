"""List queries of the Catalog and Data Prep APIs: ``limit``/``start`` paging, ``orderBy``, filters.

Unlike the Flow Service's keyset pages, these services page by offset
(``start``) and answer objects keyed by id (Catalog) or ``{data, _page}``
(Data Prep). Filters work on the wire items, like the Flow Service's:
``property=name==x`` (``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, comma = OR),
``property=name~regex`` and ``property=name`` (the field exists).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowservice.api.listing import OrderKey, satisfies, sort_value, values_at
from flowservice.errors import InvalidRequest

_CONDITION = re.compile(
    r"^\s*([A-Za-z_][\w]*(?:\[\])?(?:\.[A-Za-z_][\w]*(?:\[\])?)*)\s*(?:(==|!=|>=|<=|>|<|~)(.*))?$"
)
_ORDER = re.compile(r"^(?:(asc|desc):)?([+-]?)([A-Za-z_][\w.]*)$")


@dataclass(frozen=True)
class Filter:
    path: str
    op: str | None  # None: the field exists
    values: tuple[str, ...]


@dataclass(frozen=True)
class CatalogQuery:
    filters: tuple[Filter, ...]
    order: tuple[OrderKey, ...]
    limit: int
    start: int


def parse_filter(text: str, filterable: frozenset[str]) -> Filter:
    match = _CONDITION.match(text)
    if not match:
        raise InvalidRequest(f"Invalid property filter {text!r}: expected PATH OP VALUE", code=1440)
    path, op, raw = match.group(1), match.group(2), match.group(3) or ""
    if path not in filterable:
        raise InvalidRequest(
            f"Property {path!r} cannot be filtered on; filterable: {', '.join(sorted(filterable))}",
            code=1448,
        )
    if op is None:
        return Filter(path, None, ())
    values = (raw.strip(),) if op == "~" else tuple(v.strip().strip("\"'") for v in raw.split(","))
    if any(not v for v in values):
        raise InvalidRequest(f"Invalid property filter {text!r}: missing value", code=1443)
    if op not in ("==", "!=") and len(values) > 1:
        raise InvalidRequest(f"Invalid property filter {text!r}: {op} takes one value", code=1450)
    if op == "~":
        try:
            re.compile(values[0])
        except re.error:
            raise InvalidRequest(
                f"Invalid property filter {text!r}: bad regex", code=1440
            ) from None
    return Filter(path, op, values)


def parse_order(text: str | None, sortable: frozenset[str]) -> tuple[OrderKey, ...]:
    """``asc:created,desc:name`` (Catalog), ``+createdDate`` / ``-name`` (Data Prep)."""
    if not text or not text.strip():
        return ()
    keys = []
    direction: str | None = None
    for part in text.split(","):
        match = _ORDER.match(part.strip().replace(" ", "+"))
        if not match:
            raise InvalidRequest(f"Invalid orderBy {part!r}: use asc:field or -field", code=1433)
        direction = match.group(1) or direction  # "asc:created,updated" sorts both ascending
        path = match.group(3)
        if path not in sortable:
            raise InvalidRequest(
                f"Cannot order by {path!r}; sortable: {', '.join(sorted(sortable))}", code=1432
            )
        keys.append(OrderKey(path, direction == "desc" or match.group(2) == "-"))
    return tuple(keys)


def parse_catalog_query(
    *,
    properties: Iterable[str],
    order_by: str | None,
    limit: str | None,
    start: str | None,
    filterable: frozenset[str],
    default_limit: int,
    max_limit: int,
) -> CatalogQuery:
    filters = tuple(parse_filter(p, filterable) for p in properties if p.strip())
    order = parse_order(order_by, filterable)
    size = default_limit
    if limit is not None:
        if not limit.strip().isdigit() or not 1 <= int(limit) <= max_limit:
            raise InvalidRequest(f"limit must be an integer from 1 to {max_limit}")
        size = int(limit)
    offset = 0
    if start is not None:
        if not start.strip().isdigit():
            raise InvalidRequest("start must be a non-negative integer")
        offset = int(start)
    return CatalogQuery(filters, order, size, offset)


def _compare(actual: Any, literal: str) -> int | None:
    if actual is None or isinstance(actual, dict | list):
        return None
    if isinstance(actual, bool):
        actual = "true" if actual else "false"
    if isinstance(actual, int | float):
        try:
            number = float(literal)
        except ValueError:
            return None
        return (actual > number) - (actual < number)
    text = str(actual)
    return (text > literal) - (text < literal)


def _holds(item: Mapping[str, Any], condition: Filter) -> bool:
    found = [v for v in values_at(item, condition.path) if v is not None]
    if condition.op is None:
        return bool(found)
    if condition.op == "~":
        pattern = re.compile(condition.values[0])
        return any(pattern.search(str(v)) for v in found)
    if condition.op == "!=":
        return not any(_compare(v, lit) == 0 for v in found for lit in condition.values)
    for value in found:
        for literal in condition.values:
            result = _compare(value, literal)
            if result is not None and satisfies(condition.op, result):
                return True
    return False


def matching(
    items: Sequence[Mapping[str, Any]], query: CatalogQuery, *, created_key: str
) -> list[Mapping[str, Any]]:
    """Every item the filters keep, sorted (ties by creation time, then id)."""
    kept = [item for item in items if all(_holds(item, f) for f in query.filters)]
    kept.sort(key=lambda item: (sort_value(item, created_key), str(item.get("id", ""))))
    for key in reversed(query.order):  # stable sorts, least significant key first
        path = key.path
        kept.sort(key=lambda item: sort_value(item, path), reverse=key.descending)
    return kept


def select(
    items: Sequence[Mapping[str, Any]], query: CatalogQuery, *, created_key: str
) -> list[Mapping[str, Any]]:
    """The items of the requested page."""
    kept = matching(items, query, created_key=created_key)
    return kept[query.start : query.start + query.limit]
