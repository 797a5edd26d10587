"""List queries of the Catalog and Data Prep APIs: ``limit``/``start`` paging, ``orderBy``, filters.

Unlike the Flow Service's keyset pages, these services page by offset
(``start``) and answer objects keyed by id (Catalog) or ``{data, _page}``
(Data Prep). Filters work on the wire items, like the Flow Service's:
``property=name==x`` (``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, comma = OR),
``property=name~regex`` and ``property=name`` (the field exists).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowservice.api.filter_regex import compile_filter_regex
from flowservice.api.input_limits import REGEX_TIME_BUDGET_S, check_integer_size, parse_int, shown
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
    pattern: re.Pattern[str] | None = None  # compiled for ~


@dataclass(frozen=True)
class CatalogQuery:
    filters: tuple[Filter, ...]
    order: tuple[OrderKey, ...]
    limit: int
    start: int


def parse_filter(text: str, filterable: frozenset[str]) -> Filter:
    match = _CONDITION.match(text)
    if not match:
        raise InvalidRequest(
            f"Invalid property filter {shown(text)}: expected PATH OP VALUE", code=1440
        )
    path, op, raw = match.group(1), match.group(2), match.group(3) or ""
    if path not in filterable:
        raise InvalidRequest(
            f"Property {shown(path)} cannot be filtered on; "
            f"filterable: {', '.join(sorted(filterable))}",
            code=1448,
        )
    if op is None:
        return Filter(path, None, ())
    values = (raw.strip(),) if op == "~" else tuple(v.strip().strip("\"'") for v in raw.split(","))
    if any(not v for v in values):
        raise InvalidRequest(f"Invalid property filter {shown(text)}: missing value", code=1443)
    if op not in ("==", "!=") and len(values) > 1:
        raise InvalidRequest(
            f"Invalid property filter {shown(text)}: {op} takes one value", code=1450
        )
    if op == "~":
        return Filter(path, op, values, compile_filter_regex(values[0]))
    for value in values:
        check_integer_size(value, what=f"The property filter on {shown(path)}")
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
            raise InvalidRequest(
                f"Invalid orderBy {shown(part)}: use asc:field or -field", code=1433
            )
        direction = match.group(1) or direction  # "asc:created,updated" sorts both ascending
        path = match.group(3)
        if path not in sortable:
            raise InvalidRequest(
                f"Cannot order by {shown(path)}; sortable: {', '.join(sorted(sortable))}",
                code=1432,
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
    """Validate the list parameters of one request; an empty value means the parameter is absent."""
    filters = tuple(parse_filter(p, filterable) for p in properties if p.strip())
    order = parse_order(order_by, filterable)
    size = default_limit
    if limit is not None and limit.strip():
        size = parse_int(limit, name="limit", low=1, high=max_limit)
    offset = 0
    if start is not None and start.strip():
        offset = parse_int(start, name="start")
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
    if condition.pattern is not None:
        return any(condition.pattern.search(str(v)) for v in found)
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
    kept = _kept(items, query.filters)
    kept.sort(key=lambda item: (sort_value(item, created_key), str(item.get("id", ""))))
    for key in reversed(query.order):  # stable sorts, least significant key first
        path = key.path
        kept.sort(key=lambda item: sort_value(item, path), reverse=key.descending)
    return kept


def _kept(items: Sequence[Mapping[str, Any]], filters: Sequence[Filter]) -> list[Mapping[str, Any]]:
    if not any(f.pattern is not None for f in filters):
        return [item for item in items if all(_holds(item, f) for f in filters)]
    # a regex's worst case is bounded per value (filter_regex); bound the sum over many values
    deadline = time.monotonic() + REGEX_TIME_BUDGET_S
    kept = []
    for item in items:
        if time.monotonic() > deadline:
            raise InvalidRequest(
                f"The regular expression filter took over {REGEX_TIME_BUDGET_S:g} s on the "
                "stored values; anchor it with ^ or make it more specific.",
                code=1440,
            )
        if all(_holds(item, f) for f in filters):
            kept.append(item)
    return kept


def select(
    items: Sequence[Mapping[str, Any]], query: CatalogQuery, *, created_key: str
) -> list[Mapping[str, Any]]:
    """The items of the requested page."""
    kept = matching(items, query, created_key=created_key)
    return kept[query.start : query.start + query.limit]
