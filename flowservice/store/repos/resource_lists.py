"""Filtered, ordered, keyset-paged selects of ``resources`` rows, for the API's lists.

The API translates its ``property`` filters and ``orderby`` into the predicates
and sort parts below (``api.list_plan``); this module only turns them into SQL.
Text is compared by code point on both databases (``COLLATE "C"`` on
PostgreSQL, SQLite's default ``BINARY``), as Python compares strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, LargeBinary, String, and_, false, func, or_, true
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import UnaryExpression

from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

Value = int | str


@dataclass(frozen=True)
class Field:
    """A stored value of a row: a column of ``resources`` or one derived from its ``doc``."""

    name: str
    numeric: bool = False
    nullable: bool = False


ID = Field("id")
NAME = Field("name", nullable=True)
STATE = Field("state", nullable=True)
SPEC_ID = Field("spec_id", nullable=True)
PARENT_ID = Field("parent_id", nullable=True)
CREATED_AT = Field("created_at", numeric=True)
UPDATED_AT = Field("updated_at", numeric=True)
CREATED_BY = Field("created_by")
UPDATED_BY = Field("updated_by")
CREATED_CLIENT = Field("created_client")
UPDATED_CLIENT = Field("updated_client")
# a run's own update time (epoch ms) from the run record in its doc (``flows.run_json``):
# the row's ``updated_at`` also moves when only a cancel flag is set
RUN_UPDATED_AT = Field("run_updated_at", numeric=True)


@dataclass(frozen=True)
class OneOf:
    """The field equals one of ``values`` (a NULL never does)."""

    field: Field
    values: tuple[Value, ...]


@dataclass(frozen=True)
class NoneOf:
    """The field is not NULL and equals none of ``values``."""

    field: Field
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Compare:
    """``field op value`` with op one of ``> >= < <=``; ``as_text`` compares a number's digits."""

    field: Field
    op: str
    value: Value
    as_text: bool = False


@dataclass(frozen=True)
class IsNull:
    field: Field


@dataclass(frozen=True)
class AnyOf:
    """At least one of ``parts`` holds."""

    parts: tuple[Predicate, ...]


@dataclass(frozen=True)
class Always:
    """A condition known without looking at the row (true or false for every row)."""

    holds: bool


Predicate = OneOf | NoneOf | Compare | IsNull | AnyOf | Always


@dataclass(frozen=True)
class SortPart:
    """One part of the sort key; ``folded`` text sorts by its lower case.

    NULLs come first ascending and last descending (they sort below every value).
    """

    field: Field
    descending: bool = False
    folded: bool = False


# where a page starts: the key of the last row served, one value per sort part (None: NULL)
Bound = tuple[Value | None, ...]


def select_page(
    session: Session,
    *,
    scope: Scope,
    kind: str,
    where: Sequence[Predicate],
    order: Sequence[SortPart],
    after: Bound | None,
    limit: int,
) -> list[Resource]:
    """At most ``limit`` rows matching ``where``, in ``order``, strictly after ``after``."""
    sql = _Sql(session)
    query = sql_select(Resource).where(*_scoped(scope, kind), *(sql.predicate(p) for p in where))
    if after is not None:
        query = query.where(sql.after(order, after))
    query = query.order_by(*(sql.order(part) for part in order)).limit(limit)
    return list(session.scalars(query))


def select_all(
    session: Session, *, scope: Scope, kind: str, where: Sequence[Predicate]
) -> list[Resource]:
    """Every row matching ``where``, oldest first."""
    sql = _Sql(session)
    query = sql_select(Resource).where(*_scoped(scope, kind), *(sql.predicate(p) for p in where))
    return list(session.scalars(query.order_by(Resource.created_at, Resource.id)))


def count(session: Session, *, scope: Scope, kind: str, where: Sequence[Predicate]) -> int:
    sql = _Sql(session)
    query = (
        sql_select(func.count())
        .select_from(Resource)
        .where(*_scoped(scope, kind), *(sql.predicate(p) for p in where))
    )
    return int(session.scalar(query) or 0)


def any_beyond_ascii(
    session: Session,
    *,
    scope: Scope,
    kind: str,
    where: Sequence[Predicate],
    fields: Sequence[Field],
) -> bool:
    """Whether a matching row holds a character beyond ASCII in one of the text ``fields``.

    SQL lowers only ASCII letters the same way Python does, so only ASCII text can
    be ordered by its lower case in SQL.
    """
    sql = _Sql(session)
    wide = or_(*(sql.beyond_ascii(f) for f in fields))
    query = sql_select(Resource.id).where(
        *_scoped(scope, kind), *(sql.predicate(p) for p in where), wide
    )
    return session.scalar(query.limit(1)) is not None


def newest_children(
    session: Session, *, scope: Scope, kind: str, parent_ids: Sequence[str]
) -> list[Resource]:
    """For each parent, its rows of ``kind`` created in its last millisecond (usually one).

    Two index-driven steps whatever the table's statistics say: each parent's newest
    time (a scalar subquery in the select list runs once per parent row, an index seek),
    then the children at exactly those times. A flow with 100,000 runs costs what a flow
    with one does (a correlated filter over the children would look up every child).
    """
    if not parent_ids:
        return []
    parent = aliased(Resource)
    newest = (
        sql_select(func.max(Resource.created_at))
        .where(*_scoped(scope, kind), Resource.parent_id == parent.id)
        .scalar_subquery()
    )
    times = session.execute(
        sql_select(parent.id, newest).where(
            parent.id.in_(list(parent_ids)), parent.org_id == scope.org_id
        )
    ).all()
    pairs = [
        and_(Resource.parent_id == parent_id, Resource.created_at == at)
        for parent_id, at in times
        if at is not None
    ]
    if not pairs:
        return []
    return list(session.scalars(sql_select(Resource).where(*_scoped(scope, kind), or_(*pairs))))


def _scoped(scope: Scope, kind: str) -> list[ColumnElement[bool]]:
    return [
        Resource.kind == kind,
        Resource.org_id == scope.org_id,
        Resource.sandbox_id == scope.sandbox_id,
    ]


class _Sql:
    """SQL for predicates and sort parts, in the session's dialect."""

    def __init__(self, session: Session) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def column(self, field: Field) -> ColumnElement[Any]:
        if field is RUN_UPDATED_AT:
            run = Resource.doc["run"]
            updated = func.coalesce(run["updatedAt"].as_string(), run["createdAt"].as_string())
            # microseconds to whole milliseconds; run times are after 1970, so / floors
            return sql_cast(updated, BigInteger) // 1000
        column: ColumnElement[Any] = getattr(Resource, field.name)
        return column

    def ordered_text(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """Text that compares and sorts by code point (PostgreSQL's default collation may not)."""
        return expr.collate("C") if self.postgres else expr

    def key(self, part: SortPart) -> ColumnElement[Any]:
        expr = self.column(part.field)
        if part.folded:
            # lower() under "C" folds ASCII letters only, as on SQLite, whatever the locale
            return func.lower(self.ordered_text(expr))
        return expr if part.field.numeric else self.ordered_text(expr)

    def predicate(self, p: Predicate) -> ColumnElement[bool]:
        if isinstance(p, Always):
            return true() if p.holds else false()
        if isinstance(p, AnyOf):
            return or_(*(self.predicate(part) for part in p.parts))
        column = self.column(p.field)
        if isinstance(p, IsNull):
            return column.is_(None)
        if isinstance(p, OneOf):
            return column.in_(list(p.values)) if p.values else false()
        if isinstance(p, NoneOf):
            return and_(column.is_not(None), column.not_in(list(p.values)))
        if p.as_text:
            left = self.ordered_text(sql_cast(column, String))
        else:
            left = column if p.field.numeric else self.ordered_text(column)
        return _compare(left, p.op, p.value)

    def beyond_ascii(self, field: Field) -> ColumnElement[bool]:
        column = self.column(field)
        if self.postgres:
            return func.octet_length(column) != func.char_length(column)
        # SQLite's length() counts characters of text and bytes of a blob
        return func.length(sql_cast(column, LargeBinary)) != func.length(column)

    def order(self, part: SortPart) -> UnaryExpression[Any]:
        key = self.key(part)
        if part.descending:
            ordered = key.desc()
            return ordered.nulls_last() if part.field.nullable else ordered
        ordered = key.asc()
        return ordered.nulls_first() if part.field.nullable else ordered

    def after(self, order: Sequence[SortPart], bound: Bound) -> ColumnElement[bool]:
        """Rows whose key comes strictly after ``bound`` in ``order``."""
        keys = [self.key(part) for part in order]
        ties: list[ColumnElement[bool]] = []
        branches = []
        for part, key, value in zip(order, keys, bound, strict=True):
            branches.append(and_(*ties, _beyond(part, key, value)))
            ties.append(key.is_(None) if value is None else key == value)
        condition = or_(*branches)
        first, value = order[0], bound[0]
        if value is not None and not first.field.nullable:
            # implied by the branches; stated alone it lets the index seek to the bound
            seek = _compare(keys[0], "<=" if first.descending else ">=", value)
            condition = and_(seek, condition)
        return condition


def _beyond(part: SortPart, key: ColumnElement[Any], value: Value | None) -> ColumnElement[bool]:
    """The rows past ``value`` in this part's direction (NULLs sort below every value)."""
    if value is None:
        return key.is_not(None) if not part.descending else false()
    if part.descending:
        smaller = _compare(key, "<", value)
        return or_(smaller, key.is_(None)) if part.field.nullable else smaller
    return _compare(key, ">", value)


def _compare(left: ColumnElement[Any], op: str, value: Value) -> ColumnElement[bool]:
    if op == ">":
        return left > value
    if op == ">=":
        return left >= value
    if op == "<":
        return left < value
    if op == "<=":
        return left <= value
    raise ValueError(f"unknown comparison {op}")
