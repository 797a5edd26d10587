"""The one sequence of every Flow Service list route: parse, narrow in SQL, map to wire, page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.listing import ListParams, ListQuery, select_page
from flowservice.api.runtime import Runtime
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

WireRows = Callable[[Session, Sequence[Resource]], list[dict[str, Any]]]


def list_page(
    runtime: Runtime,
    scope: Scope,
    params: ListParams,
    *,
    kind: str,
    filterable: frozenset[str] | None,
    path: str,
    to_wire: WireRows,
    spec_field: str | None = None,
    parent_field: str | None = None,
) -> dict[str, Any]:
    """A page (or ``{count}``) of ``kind`` in the scope, as ``select_page`` answers it.

    ``==`` filters on ``id``, ``spec_field`` and ``parent_field`` narrow the rows in
    SQL first; every condition is then re-checked on the wire items.
    """
    settings = runtime.settings
    query = params.parse(
        kind=kind,
        default_limit=settings.default_page_size,
        max_limit=settings.max_page_size,
        filterable=filterable,
    )
    with runtime.transaction() as session:
        rows = resources.list_resources(
            session,
            scope=scope,
            kind=kind,
            ids=query.equals("id"),
            spec_ids=_equals(query, spec_field),
            parent_ids=_equals(query, parent_field),
        )
        items = to_wire(session, rows)
    return select_page(items, query, path=path)


def _equals(query: ListQuery, path: str | None) -> tuple[str, ...] | None:
    return None if path is None else query.equals(path)
