"""Which part of a list query runs in SQL, and with what meaning.

A ``property`` condition on a wire path that maps to a stored field becomes a
SQL predicate with exactly the meaning ``listing`` gives it on the wire item
(comma-separated values, ``null``, numbers against text); every other condition
is checked on the wire items afterwards. ``orderby`` runs in SQL when every key
is a stored field; the continuation token's sort key becomes the SQL bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowservice.api.listing import Condition, ListQuery, as_number
from flowservice.errors import InvalidRequest
from flowservice.store.repos.resource_lists import (
    ID,
    Always,
    AnyOf,
    Bound,
    Compare,
    Field,
    IsNull,
    NoneOf,
    OneOf,
    Predicate,
    SortPart,
    Value,
)

# stored integers stay far below this; a literal beyond it compares like an infinity
_HUGE = float(2**62)


@dataclass(frozen=True)
class Column:
    """The stored field behind a wire path; ``absent_when_null``: the item omits the key then."""

    field: Field
    absent_when_null: bool = False


@dataclass(frozen=True)
class ListPlan:
    where: tuple[Predicate, ...]
    checked_after: tuple[Condition, ...]  # on the wire items, after SQL
    order: tuple[SortPart, ...] | None  # None: an orderby key is no stored field
    after: Bound | None

    @property
    def folded(self) -> tuple[Field, ...]:
        """The text fields SQL sorts by their lower case."""
        return tuple(part.field for part in self.order or () if part.folded)


def plan_list(query: ListQuery, columns: Mapping[str, Column]) -> ListPlan:
    where, checked = [], []
    for condition in query.conditions:
        column = columns.get(condition.path)
        if column is None:
            checked.append(condition)
        else:
            where.append(predicate(column, condition))
    order = sort_parts(query, columns)
    after = None
    if order is not None and query.after is not None:
        after = bound_of(query.after, order)
    return ListPlan(tuple(where), tuple(checked), order, after)


def sort_parts(query: ListQuery, columns: Mapping[str, Column]) -> tuple[SortPart, ...] | None:
    """``listing.sort_key`` in SQL terms: the orderby keys, then createdAt and id ascending."""
    parts = []
    for key in query.order:
        column = columns.get(key.path)
        if column is None:
            return None
        field = column.field
        parts.append(SortPart(field, descending=key.descending, folded=not field.numeric))
    parts.append(SortPart(columns["createdAt"].field))
    parts.append(SortPart(ID))  # the id tie-break is compared as it is, not lower-cased
    return tuple(parts)


def bound_of(key: Sequence[Any], order: Sequence[SortPart]) -> Bound:
    """The SQL bound of a ``listing.sort_key`` (from a token or the last row seen).

    The service makes tokens whose keys fit their fields; any other is refused (400).
    """
    values: list[Value | None] = []
    for (rank, value), part in zip(key, order, strict=True):
        if part.field.numeric and rank == 1 and abs(value) < _HUGE and float(value).is_integer():
            values.append(int(value))
        elif not part.field.numeric and rank == 2:
            values.append(str(value))
        elif part.field.nullable and rank == 0 and value == "":
            values.append(None)
        else:
            raise InvalidRequest("Invalid continuationToken: it belongs to another query.")
    return tuple(values)


def predicate(column: Column, condition: Condition) -> Predicate:
    """The SQL form of ``listing``'s test of ``condition`` on the item's value of ``column``."""
    if column.field.numeric:
        return _numeric(column.field, condition.op, condition.values)
    return _text(column, condition.op, condition.values)


def _text(column: Column, op: str, values: tuple[str, ...]) -> Predicate:
    field = column.field
    # a NULL shown on the wire equals the literal null; an absent key matches no ==, >, <
    null_shown = field.nullable and not column.absent_when_null
    if op == "==":
        found: Predicate = OneOf(field, values)
        return AnyOf((found, IsNull(field))) if null_shown and "null" in values else found
    if op == "!=":
        keep_null = field.nullable and (column.absent_when_null or "null" not in values)
        return AnyOf((NoneOf(field, values), IsNull(field))) if keep_null else NoneOf(field, values)
    (literal,) = values
    compared: Predicate = Compare(field, op, literal)
    if null_shown and literal == "null" and op in (">=", "<="):
        return AnyOf((compared, IsNull(field)))
    return compared


def _numeric(field: Field, op: str, values: tuple[str, ...]) -> Predicate:
    """A stored integer against literals: numerically when the literal is a number (``float()``
    accepts it), else by its decimal digits as text; NaN compares equal to everything."""
    numbers = [as_number(v) for v in values]
    if op in ("==", "!="):
        if any(n is not None and math.isnan(n) for n in numbers):
            return Always(op == "==")
        # text never equals an integer's digits, and a fraction never equals an integer
        exact = tuple(
            sorted({int(n) for n in numbers if n is not None and abs(n) < _HUGE and n.is_integer()})
        )
        return OneOf(field, exact) if op == "==" else NoneOf(field, exact)
    (number,) = numbers
    if number is None:
        return Compare(field, op, values[0], as_text=True)
    if math.isnan(number):
        return Always(op in (">=", "<="))
    if abs(number) >= _HUGE:
        return Always((op in ("<", "<=")) == (number > 0))
    if op in (">", "<="):
        return Compare(field, op, math.floor(number))
    return Compare(field, op, math.ceil(number))
