"""The one sequence of every Flow Service list route: parse, select in SQL, map to wire, page.

Conditions on stored fields, the order and the page bound run in SQL
(``api.list_plan``); conditions on paths inside the documents are checked on
the wire items, reading the SQL results in growing chunks until the page is
full. When the order cannot run in SQL (a key inside the documents, or text
beyond ASCII to sort case-insensitively) the matching rows are ordered and
paged in Python by ``listing.select_page``, the reference the SQL path follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.list_plan import Column, ListPlan, bound_of, plan_list
from flowservice.api.listing import ListParams, ListQuery, holds, page_body, select_page, sort_key
from flowservice.api.runtime import Runtime
from flowservice.store.repos import resource_lists
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

WireRows = Callable[[Session, Sequence[Resource]], list[dict[str, Any]]]

# rows read per SQL round trip while wire conditions reject some: from the page size up to this
_MAX_CHUNK = 500


def list_page(
    runtime: Runtime,
    scope: Scope,
    params: ListParams,
    *,
    kind: str,
    filterable: frozenset[str] | None,
    columns: Mapping[str, Column],
    path: str,
    to_wire: WireRows,
) -> dict[str, Any]:
    """A page (or ``{count}``) of ``kind`` in the scope, exactly as ``select_page`` answers it."""
    settings = runtime.settings
    query = params.parse(
        kind=kind,
        default_limit=settings.default_page_size,
        max_limit=settings.max_page_size,
        filterable=filterable,
    )
    plan = plan_list(query, columns)
    with runtime.transaction() as session:
        lister = _Lister(session, scope, kind, query, plan, to_wire)
        if plan.order is None or (plan.folded and lister.beyond_ascii()):
            return select_page(lister.all_items(), query, path=path)
        if query.count:
            return {"count": lister.count()}
        found = lister.matching(query.limit + 1)
    more = len(found) > query.limit
    return page_body(found[: query.limit], more=more, query=query, path=path)


class _Lister:
    """The rows of one list query, in its order, as wire items."""

    def __init__(
        self,
        session: Session,
        scope: Scope,
        kind: str,
        query: ListQuery,
        plan: ListPlan,
        to_wire: WireRows,
    ) -> None:
        self.session, self.scope, self.kind = session, scope, kind
        self.query, self.plan, self.to_wire = query, plan, to_wire

    def beyond_ascii(self) -> bool:
        return resource_lists.any_beyond_ascii(
            self.session,
            scope=self.scope,
            kind=self.kind,
            where=self.plan.where,
            fields=self.plan.folded,
        )

    def all_items(self) -> list[dict[str, Any]]:
        rows = resource_lists.select_all(
            self.session, scope=self.scope, kind=self.kind, where=self.plan.where
        )
        return self.to_wire(self.session, rows)

    def count(self) -> int:
        if self.plan.checked_after:
            return len(self.matching(None))
        return resource_lists.count(
            self.session, scope=self.scope, kind=self.kind, where=self.plan.where
        )

    def matching(self, wanted: int | None) -> list[dict[str, Any]]:
        """The first ``wanted`` (None: all) items after the plan's bound that meet every
        condition checked on the wire."""
        order = self.plan.order
        assert order is not None  # list_page answers in Python when the order is not SQL's
        found: list[dict[str, Any]] = []
        after, chunk = self.plan.after, wanted or _MAX_CHUNK
        while True:
            rows = resource_lists.select_page(
                self.session,
                scope=self.scope,
                kind=self.kind,
                where=self.plan.where,
                order=order,
                after=after,
                limit=chunk,
            )
            items = self.to_wire(self.session, rows)
            for item in items:
                if all(holds(item, c) for c in self.plan.checked_after):
                    found.append(item)
                    if len(found) == wanted:
                        return found
            if len(rows) < chunk:
                return found
            # the next chunk starts after the last row read, whether it matched or not
            after = bound_of(sort_key(items[-1], self.query.order), order)
            chunk = max(chunk, min(chunk * 2, _MAX_CHUNK))
