"""Add data: an account's source as a tree of schemas and tables, and a table's columns and rows.

Every page calls the API's explore route (``objectType=root``, then ``table``) with
the session's scope, so what it shows and refuses is what the API shows and refuses.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from anyio.from_thread import run as run_async
from fastapi import APIRouter, Query, Request, Response

from flowservice.api.routes import connections as connection_routes
from flowservice.api.routes import explore as explore_routes
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import show_page
from flowservice.console.paging import list_params, next_token
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.store.repos.resources import Scope

router = APIRouter()

TREE_PAGE = 500  # objects per tree page: a large catalog is paged, not loaded whole
PREVIEW_ROWS = 100


def _explore(request: Request, scope: Scope, connection_id: str, **query: Any) -> Any:
    """The API's ``GET /connections/{id}/explore`` answer (its route function, awaited here)."""
    arguments: dict[str, Any] = {
        "object_type": "root",
        "object_path": None,
        "preview": False,
        "count": PREVIEW_ROWS,
        "start": 0,
        "limit": None,
        "decimals_as_strings": False,
        **query,
    }
    return run_async(
        lambda: explore_routes.explore_connection(
            connection_id, runtime_of(request), scope, **arguments
        )
    )


def _account(request: Request, scope: Scope, connection_id: str) -> dict[str, Any]:
    item: dict[str, Any] = connection_routes.get_connection(
        connection_id, runtime_of(request), scope
    )["items"][0]
    return {"id": item["id"], "name": item.get("name") or item["id"]}


@router.get("/explore")
def add_data(request: Request, continuationToken: str | None = None) -> Response:
    runtime = runtime_of(request)

    def build(user: ConsoleSession, scope: Scope) -> Response:
        page = connection_routes.list_connections(
            runtime, scope, list_params(continuation=continuationToken, orderby="name")
        )
        sources = {
            s.id for s in runtime.specs.all() if (s.doc.get("attributes") or {}).get("isSource")
        }
        accounts = [
            {"id": item["id"], "name": item.get("name") or item["id"]}
            for item in page["items"]
            if item.get("connectionSpec", {}).get("id") in sources
        ]
        return render(
            request,
            "explore_accounts.html",
            user=user,
            accounts=accounts,
            list_path="/console/explore",
            next_token=next_token(page),
        )

    return show_page(request, build)


def _schemas(objects: list[dict[str, Any]], connection_id: str) -> list[dict[str, Any]]:
    """Objects grouped by schema, in the order the source listed them."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        schema, _, name = str(obj["path"]).partition(".")
        grouped.setdefault(schema, []).append(
            {
                "name": name or schema,
                "type": obj.get("type", "table"),
                "href": f"/console/accounts/{connection_id}/explore/table?object="
                + quote(str(obj["path"]), safe=""),
            }
        )
    return [{"name": schema, "objects": objects} for schema, objects in grouped.items()]


@router.get("/accounts/{connection_id}/explore")
def source_tree(request: Request, connection_id: str, start: int = 0) -> Response:
    def build(user: ConsoleSession, scope: Scope) -> Response:
        account = _account(request, scope, connection_id)
        first = max(0, start)
        objects: list[dict[str, Any]] = _explore(
            request, scope, connection_id, start=first, limit=TREE_PAGE + 1
        )
        more = len(objects) > TREE_PAGE
        shown = objects[:TREE_PAGE]
        return render(
            request,
            "explore_tree.html",
            user=user,
            account=account,
            schemas=_schemas(shown, connection_id),
            first=first + 1,
            last=first + len(shown),
            next_start=first + TREE_PAGE if more else None,
            previous_start=max(0, first - TREE_PAGE) if first > 0 else None,
            page_size=TREE_PAGE,
        )

    return show_page(request, build)


def _columns(table: dict[str, Any]) -> list[dict[str, Any]]:
    key = list(table["schema"].get("primaryKey") or [])
    columns = []
    for column in table["schema"]["columns"]:
        meta = column.get("meta") or {}
        columns.append(
            {
                "name": column["name"],
                "source_type": meta.get("originalType") or "—",
                "type": column.get("meta:xdmType") or column.get("type") or "—",
                "nullable": meta.get("nullable"),
                "key_position": key.index(column["name"]) + 1 if column["name"] in key else None,
                "lossy": bool(meta.get("lossy")),
            }
        )
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@router.get("/accounts/{connection_id}/explore/table")
def table_page(
    request: Request, connection_id: str, table: Annotated[str, Query(alias="object")] = ""
) -> Response:
    def build(user: ConsoleSession, scope: Scope) -> Response:
        account = _account(request, scope, connection_id)
        described = _explore(
            request, scope, connection_id, object_type="table", object_path=table or None
        )
        previewed = _explore(
            request,
            scope,
            connection_id,
            object_type="table",
            object_path=table,
            preview=True,
            count=PREVIEW_ROWS,
        )
        columns = _columns(described)
        names = [c["name"] for c in columns]
        rows = [
            [{"value": _cell(row.get(n)), "null": row.get(n) is None} for n in names]
            for row in previewed.get("data") or []
        ]
        return render(
            request,
            "explore_table.html",
            user=user,
            account=account,
            table=table,
            columns=columns,
            primary_key=list(described["schema"].get("primaryKey") or []),
            change_tracking=described.get("changeTracking"),
            rows=rows,
            preview_rows=PREVIEW_ROWS,
        )

    return show_page(request, build)
