"""List queries shared by every collection: ``property`` filters, ``orderby``, paging, ``count``.

Filters and ordering work on the wire representation of items (what the user
sees), so dotted paths (``connectionSpec.id``) and array elements
(``sourceConnectionIds[]``, ``params.columns[].name``) mean the same thing
for every resource kind. Paging is keyset-based: the continuation token holds
the sort key of the last item served, so deletes between pages neither skip
nor repeat items.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query

from flowservice.api.input_limits import check_integer_size, load_json, parse_int, shown
from flowservice.errors import InvalidRequest

OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
_CONDITION = re.compile(
    r"^\s*([A-Za-z_@][\w@:]*(?:\[\])?(?:\.[A-Za-z_@][\w@:]*(?:\[\])?)*)\s*(==|!=|>=|<=|>|<)(.*)$"
)
_ORDER = re.compile(r"^([+-]?)([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)$")


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class OrderKey:
    path: str
    descending: bool


@dataclass(frozen=True)
class ListQuery:
    conditions: tuple[Condition, ...]
    order: tuple[OrderKey, ...]
    limit: int
    after: tuple[Any, ...] | None
    count: bool
    fingerprint: str
    raw: Mapping[str, Any]


def _strip_quotes(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_condition(text: str, filterable: frozenset[str] | None) -> Condition:
    match = _CONDITION.match(text)
    if not match:
        raise InvalidRequest(
            f"Invalid property filter {shown(text)}: expected PATH OP VALUE with OP one of "
            + ", ".join(OPERATORS),
            code=1440,
        )
    path, op, raw_values = match.group(1), match.group(2), match.group(3)
    if filterable is not None and path not in filterable:
        raise InvalidRequest(
            f"Property {shown(path)} cannot be filtered on; "
            f"filterable: {', '.join(sorted(filterable))}",
            code=1448,
        )
    values = tuple(_strip_quotes(v) for v in raw_values.split(","))
    if not raw_values.strip() or any(v == "" for v in values):
        raise InvalidRequest(f"Invalid property filter {shown(text)}: missing value", code=1443)
    if op not in ("==", "!=") and len(values) > 1:
        raise InvalidRequest(
            f"Invalid property filter {shown(text)}: {op} takes one value", code=1450
        )
    for value in values:
        check_integer_size(value, what=f"The property filter on {shown(path)}")
    return Condition(path=path, op=op, values=values)


def parse_orderby(text: str | None, sortable: frozenset[str] | None) -> tuple[OrderKey, ...]:
    if text is None or not text.strip():
        return ()
    keys = []
    for part in text.split(","):
        # a literal "+" arrives as a space when the client did not encode it
        match = _ORDER.match(part.strip().replace(" ", "+"))
        if not match:
            raise InvalidRequest(
                f"Invalid orderby {shown(part)}: use name, +name or -name", code=1433
            )
        if sortable is not None and match.group(2) not in sortable:
            raise InvalidRequest(
                f"Cannot order by {shown(match.group(2))}; sortable: {', '.join(sorted(sortable))}",
                code=1432,
            )
        keys.append(OrderKey(path=match.group(2), descending=match.group(1) == "-"))
    return tuple(keys)


def _fingerprint(conditions: Sequence[Condition], order: Sequence[OrderKey], kind: str) -> str:
    text = json.dumps([kind, [c.__dict__ for c in conditions], [o.__dict__ for o in order]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(fingerprint: str, after: Sequence[Any]) -> str:
    raw = json.dumps({"f": fingerprint, "a": list(after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> tuple[Any, ...]:
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        data = load_json(text, what="The continuationToken")
        after = data["a"]
        if data["f"] != fingerprint or not isinstance(after, list):
            raise ValueError("token of another query")
        if not all(_valid_key_part(part) for part in after):
            raise ValueError("malformed sort key")
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest(
            "Invalid continuationToken: use the token from _links.next with the same "
            "property and orderby parameters."
        ) from None
    return tuple(after)


def _valid_key_part(part: Any) -> bool:
    if not isinstance(part, list) or len(part) != 2 or part[0] not in (0, 1, 2):
        return False
    if part[0] == 1:
        return isinstance(part[1], int | float) and not isinstance(part[1], bool)
    return isinstance(part[1], str)


def parse_list_query(
    *,
    kind: str,
    properties: Iterable[str],
    orderby: str | None,
    limit: str | None,
    continuation_token: str | None,
    count: str | None,
    default_limit: int,
    max_limit: int,
    filterable: frozenset[str] | None = None,
) -> ListQuery:
    """Validate the list parameters of one request; an empty value means the parameter is absent."""
    limit, count = _given(limit), _given(count)
    conditions = tuple(parse_condition(p, filterable) for p in properties if p.strip())
    order = parse_orderby(orderby, filterable)
    want_count = _parse_bool(count, "count")
    if want_count and limit is not None:
        raise InvalidRequest("limit and count cannot be used together", code=1401)
    page_size = default_limit
    if limit is not None:
        page_size = parse_int(limit, name="limit", low=1, high=max_limit)
    fingerprint = _fingerprint(conditions, order, kind)
    token = _given(continuation_token)
    after = decode_token(token, fingerprint) if token is not None else None
    if after is not None and len(after) != len(order) + 2:
        raise InvalidRequest("Invalid continuationToken: it belongs to another query.")
    raw = {"property": list(properties), "orderby": orderby, "limit": limit}
    return ListQuery(conditions, order, page_size, after, want_count, fingerprint, raw)


def _given(text: str | None) -> str | None:
    """``text``, or None when the parameter was sent empty (``?count=``)."""
    return text if text is not None and text.strip() else None


def _parse_bool(text: str | None, name: str) -> bool:
    if text is None:
        return False
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidRequest(f"{name} must be true or false")
    return lowered == "true"


def values_at(item: Any, path: str) -> list[Any]:
    """Every value at a dotted path; ``[]`` after a segment fans out over a list."""
    current = [item]
    for segment in path.split("."):
        fan_out = segment.endswith("[]")
        key = segment[:-2] if fan_out else segment
        nxt: list[Any] = []
        for value in current:
            if isinstance(value, Mapping) and key in value:
                child = value[key]
                if fan_out and isinstance(child, list):
                    nxt.extend(child)
                else:
                    nxt.append(child)
        current = nxt
    return current


def as_number(value: Any) -> float | None:
    """The number a value or filter literal stands for (``float()`` of text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(actual: Any, literal: str) -> int | None:
    """-1/0/1 comparing a stored value with a filter literal; None when incomparable."""
    if isinstance(actual, bool):
        actual = "true" if actual else "false"
    left, right = as_number(actual), as_number(literal)
    if left is not None and right is not None and not isinstance(actual, str):
        return (left > right) - (left < right)
    if actual is None:
        return 0 if literal == "null" else None
    text = str(actual)
    return (text > literal) - (text < literal)


def holds(item: Mapping[str, Any], condition: Condition) -> bool:
    """Whether the wire item meets the condition."""
    found = values_at(item, condition.path)
    if condition.op == "!=":
        return not any(_compare(v, lit) == 0 for v in found for lit in condition.values)
    for value in found:
        for literal in condition.values:
            result = _compare(value, literal)
            if result is not None and satisfies(condition.op, result):
                return True
    return False


def satisfies(op: str, result: int) -> bool:
    """Whether a -1/0/1 comparison ``result`` meets ``==``, ``>``, ``<``, ``>=`` or ``<=``."""
    return (
        (op == "==" and result == 0)
        or (op == ">" and result > 0)
        or (op == "<" and result < 0)
        or (op == ">=" and result >= 0)
        or (op == "<=" and result <= 0)
    )


def sort_value(item: Mapping[str, Any], path: str) -> list[Any]:
    """The first value at ``path`` as a rank-tagged key: missing, then numbers, then text."""
    found = values_at(item, path)
    value = found[0] if found else None
    if value is None:
        return [0, ""]
    if isinstance(value, bool | int | float):
        return [1, float(value)]
    return [2, str(value).lower()]


def sort_key(item: Mapping[str, Any], order: Sequence[OrderKey]) -> tuple[Any, ...]:
    """The JSON-serialisable key of an item; ties broken by createdAt, then id."""
    parts = [sort_value(item, key.path) for key in order]
    parts.append(sort_value(item, "createdAt"))
    parts.append([2, str(item.get("id", ""))])
    return tuple(parts)


def _cmp_keys(a: Sequence[Any], b: Sequence[Any], order: Sequence[OrderKey]) -> int:
    for index, (left, right) in enumerate(zip(a, b, strict=True)):
        left_t, right_t = tuple(left), tuple(right)
        if left_t != right_t:
            result = 1 if left_t > right_t else -1
            descending = index < len(order) and order[index].descending
            return -result if descending else result
    return 0


def select_page(
    items: Iterable[Mapping[str, Any]], query: ListQuery, *, path: str
) -> dict[str, Any]:
    """The response body for one page: items and ``_links.next``, or only ``count``.

    The reference for every list: SQL-backed lists answer exactly what this does.
    """
    matching = [item for item in items if all(holds(item, c) for c in query.conditions)]
    if query.count:
        return {"count": len(matching)}
    keyed = [(sort_key(item, query.order), item) for item in matching]

    def by_key(x: tuple[tuple[Any, ...], Any], y: tuple[tuple[Any, ...], Any]) -> int:
        return _cmp_keys(x[0], y[0], query.order)

    keyed.sort(key=functools.cmp_to_key(by_key))
    if query.after is not None:
        after = query.after
        keyed = [pair for pair in keyed if _cmp_keys(pair[0], after, query.order) > 0]
    page = [item for _, item in keyed[: query.limit]]
    return page_body(page, more=len(keyed) > query.limit, query=query, path=path)


def page_body(
    page: Sequence[Mapping[str, Any]], *, more: bool, query: ListQuery, path: str
) -> dict[str, Any]:
    """``{items, _links}``; when ``more`` items follow, ``next`` continues after the last one."""
    body: dict[str, Any] = {"items": list(page), "_links": {}}
    if more and page:
        last = json.loads(json.dumps(sort_key(page[-1], query.order)))
        token = encode_token(query.fingerprint, last)
        params: list[tuple[str, str]] = [("continuationToken", token)]
        params += [("property", p) for p in query.raw["property"]]
        if query.raw["orderby"]:
            params.append(("orderby", str(query.raw["orderby"])))
        if query.raw["limit"]:
            params.append(("limit", str(query.raw["limit"])))
        body["_links"] = {"next": {"href": f"{path}?{urlencode(params)}"}}
    return body


@dataclass(frozen=True)
class ListParams:
    """The raw list parameters of a request, before a resource kind validates them."""

    properties: tuple[str, ...]
    orderby: str | None
    limit: str | None
    continuation_token: str | None
    count: str | None

    def parse(
        self, *, kind: str, default_limit: int, max_limit: int, filterable: frozenset[str] | None
    ) -> ListQuery:
        return parse_list_query(
            kind=kind,
            properties=self.properties,
            orderby=self.orderby,
            limit=self.limit,
            continuation_token=self.continuation_token,
            count=self.count,
            default_limit=default_limit,
            max_limit=max_limit,
            filterable=filterable,
        )


def list_params(
    property: Annotated[
        list[str] | None,
        Query(
            description='Filter, repeatable and ANDed: name=="x", id==a,b, createdAt>=1700000000000'
        ),
    ] = None,
    orderby: Annotated[str | None, Query(description="name, +name or -name")] = None,
    limit: Annotated[
        str | None, Query(description="Page size (1 to the configured maximum)")
    ] = None,
    continuationToken: Annotated[
        str | None, Query(description="From _links.next of the previous page")
    ] = None,
    count: Annotated[str | None, Query(description="true: return only {count}")] = None,
) -> ListParams:
    return ListParams(tuple(property or ()), orderby, limit, continuationToken, count)


ListParamsDep = Annotated[ListParams, Depends(list_params)]
