"""What each SDK call sends and how its answer is read, shared by ``Client`` and ``AsyncClient``.

An ``Operation`` is one HTTP exchange described as data (method, path, query,
body, how to read the answer); the two clients only send it. A ``Kind`` knows
one resource collection: its path, model, and how its lists page — the Flow
Service follows ``_links.next`` (keyset continuation tokens), the Catalog
pages by offset (``start``/``limit``) and answers objects keyed by id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from flowservice.client.models import (
    Batch,
    Connection,
    ConnectionSpec,
    Created,
    Dataset,
    Flow,
    FlowSpec,
    Model,
    Run,
    SourceConnection,
    TargetConnection,
)
from flowservice.settings import API_PREFIX, CATALOG_PREFIX

T = TypeVar("T")
M = TypeVar("M", bound=Model)

Params = tuple[tuple[str, str], ...]
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One request and the reading of its answer; ``idempotent=None`` = judge by method."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Params = ()
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool | None = None


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a list, and the request for the next page (None on the last)."""

    items: list[M]
    next: Operation[Page[M]] | None


def _nothing(_response: httpx.Response) -> None:
    return None


def _created(response: httpx.Response) -> Created:
    return Created.model_validate(response.json())


def _catalog_created(response: httpx.Response) -> Created:
    # the Catalog answers ["@/dataSets/{id}"]
    body = response.json()
    return Created(id=str(body[0]).rsplit("/", 1)[-1])


def _first_item(model: type[M]) -> Callable[[httpx.Response], M]:
    def read(response: httpx.Response) -> M:
        return model.model_validate(response.json()["items"][0])

    return read


def _keyed(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Catalog's ``{id: object}`` answers as objects that carry their id."""
    return [{"id": key, **value} for key, value in body.items() if isinstance(value, dict)]


@dataclass(frozen=True)
class Kind(Generic[M]):
    """One collection of the API and how to talk to it."""

    prefix: str
    path: str
    model: type[M]
    paging: Literal["token", "offset"] = "token"

    @property
    def catalog(self) -> bool:
        """The Catalog answers objects keyed by id, and ``["@/dataSets/{id}"]`` to a create."""
        return self.prefix == CATALOG_PREFIX

    @property
    def url(self) -> str:
        return f"{self.prefix}{self.path}"

    def item_url(self, resource_id: str) -> str:
        if not resource_id or "/" in resource_id:
            raise ValueError(f"not a resource id: {resource_id!r}")
        return f"{self.url}/{resource_id}"

    def list_op(
        self,
        *,
        filters: Sequence[str] = (),
        order: str | None = None,
        page_size: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Operation[Page[M]]:
        params: list[tuple[str, str]] = [("property", f) for f in filters]
        if order is not None:
            params.append(("orderby" if self.paging == "token" else "orderBy", order))
        if self.paging == "offset":
            # the page size must be known to tell the last page
            params.append(("limit", str(page_size or 50)))
            params.append(("start", "0"))
        elif page_size is not None:
            params.append(("limit", str(page_size)))
        params.extend((extra or {}).items())
        return self._page_op(self.url, tuple(params))

    def _page_op(self, path: str, params: Params) -> Operation[Page[M]]:
        def read(response: httpx.Response) -> Page[M]:
            return self._page(response, params)

        return Operation("GET", path, read, params=params)

    def _page(self, response: httpx.Response, params: Params) -> Page[M]:
        body = response.json()
        if self.paging == "offset":
            rows = _keyed(body)
            query = dict(params)
            limit, start = int(query["limit"]), int(query["start"])
            following = None
            if len(rows) >= limit:
                moved = tuple((k, str(start + limit) if k == "start" else v) for k, v in params)
                following = self._page_op(self.url, moved)
            return Page([self.model.model_validate(r) for r in rows], following)
        items = [self.model.model_validate(r) for r in body.get("items", [])]
        href = ((body.get("_links") or {}).get("next") or {}).get("href")
        if not href:
            return Page(items, None)
        # ``next`` is relative to the base path, as Adobe's docs show it
        parts = urlsplit(str(href))
        path = parts.path if parts.path.startswith(self.prefix) else self.prefix + parts.path
        return Page(items, self._page_op(path, tuple(parse_qsl(parts.query))))

    def get_op(self, resource_id: str) -> Operation[M]:
        if self.catalog:
            model = self.model

            def read(response: httpx.Response) -> M:
                return model.model_validate(_keyed(response.json())[0])

            return Operation("GET", self.item_url(resource_id), read)
        return Operation("GET", self.item_url(resource_id), _first_item(self.model))

    def create_op(self, body: Mapping[str, Any], *, idempotent: bool = False) -> Operation[Created]:
        read = _catalog_created if self.catalog else _created
        return Operation("POST", self.url, read, json=dict(body), idempotent=idempotent or None)

    def delete_op(self, resource_id: str) -> Operation[None]:
        return Operation("DELETE", self.item_url(resource_id), _nothing)

    def patch_op(
        self, resource_id: str, operations: Sequence[Mapping[str, Any]], *, etag: str
    ) -> Operation[Created]:
        return Operation(
            "PATCH",
            self.item_url(resource_id),
            _created,
            json=[dict(op) for op in operations],
            headers={"If-Match": etag, "Content-Type": JSON_PATCH},
        )


CONNECTIONS = Kind(API_PREFIX, "/connections", Connection)
CONNECTION_SPECS = Kind(API_PREFIX, "/connectionSpecs", ConnectionSpec)
SOURCE_CONNECTIONS = Kind(API_PREFIX, "/sourceConnections", SourceConnection)
TARGET_CONNECTIONS = Kind(API_PREFIX, "/targetConnections", TargetConnection)
FLOWS = Kind(API_PREFIX, "/flows", Flow)
FLOW_SPECS = Kind(API_PREFIX, "/flowSpecs", FlowSpec)
RUNS = Kind(API_PREFIX, "/runs", Run)
DATASETS = Kind(CATALOG_PREFIX, "/dataSets", Dataset, paging="offset")
BATCHES = Kind(CATALOG_PREFIX, "/batches", Batch, paging="offset")


def run_flow_op(
    flow_id: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = False
) -> Operation[Run]:
    """``POST /runs``: the run as created (``scheduled``), read from the answer's ``items``."""
    body: dict[str, Any] = {"flowId": flow_id}
    if params is not None:
        body["params"] = dict(params)
    return Operation("POST", RUNS.url, _first_item(Run), json=body, idempotent=idempotent or None)
