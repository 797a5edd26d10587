"""Which rows a list reads: a page of the SQL path reads about ``limit`` rows, whatever the
sandbox holds; wire-only filters read on in chunks; text beyond ASCII is ordered in Python."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flow_fixtures import connections, create_flow
from list_cases import CASES, insert_rows, row
from service_harness import ApiClient, scope_of, sql_server_connection_body
from sqlalchemy import event, select

from flowservice.api import resource_pages
from flowservice.api.runtime import Runtime
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource


class Loads:
    """Rows of one org the ORM builds, in any session of this process (the test server's too)."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.count = 0

    def __call__(self, target: Resource, _context: Any) -> None:
        if target.org_id == self.org_id:
            self.count += 1


@pytest.fixture
def loads(api: ApiClient) -> Iterator[Loads]:
    counter = Loads(api.org_id)
    event.listen(Resource, "load", counter)
    yield counter
    event.remove(Resource, "load", counter)


def _rows(runtime: Runtime, scope: Scope, kind: str, count: int, **fields: Any) -> None:
    specs = [row(name=f"row-{i}", **fields) for i in range(count)]
    insert_rows(runtime, scope, CASES[kind], specs, prefix=f"{uuid.uuid4().hex[:20]}-")


def test_a_page_reads_a_page_of_rows(api: ApiClient, runtime: Runtime, loads: Loads) -> None:
    assert api.get("/runs").json()["items"] == []
    scope = scope_of(runtime, api)
    _rows(runtime, scope, "runs", 300)
    loads.count = 0
    first = api.get("/runs", params={"limit": "10"}).json()
    assert len(first["items"]) == 10 and loads.count == 11  # the page and whether more follow
    loads.count = 0
    second = api.get(first["_links"]["next"]["href"]).json()
    assert len(second["items"]) == 10 and loads.count == 11
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])
    loads.count = 0
    assert api.get("/runs", params={"count": "true"}).json() == {"count": 300}
    assert loads.count == 0  # SQL COUNT


def test_wire_filters_read_on_in_chunks_until_the_page_is_full(
    api: ApiClient, runtime: Runtime, loads: Loads
) -> None:
    base = api.post("/connections", json=sql_server_connection_body()).json()["id"]
    scope = scope_of(runtime, api)
    # 40 rows of sales.c, then 3 of dbo.a (the newest): the filter is on the document
    _rows(runtime, scope, "sourceConnections", 40, table="sales.c", parent=base, created=0)
    before = {i["id"] for i in api.get("/sourceConnections").json()["items"]}
    _rows(runtime, scope, "sourceConnections", 3, table="dbo.a", parent=base, created=5)
    loads.count = 0
    query = {"property": "params.tableName==dbo.a", "limit": "2"}
    page = api.get("/sourceConnections", params=query).json()
    assert len(page["items"]) == 2 and not {i["id"] for i in page["items"]} & before
    assert 43 >= loads.count > 3  # read in growing chunks, not all at once nor one page only
    rest = api.get(page["_links"]["next"]["href"]).json()
    assert len(rest["items"]) == 1 and rest["_links"] == {}
    count = api.get("/sourceConnections", params={"property": query["property"], "count": "true"})
    assert count.json() == {"count": 3}


def test_text_beyond_ascii_is_ordered_in_python(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = resource_pages.select_page
    used: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        used.append("python")
        return reference(*args, **kwargs)

    monkeypatch.setattr(resource_pages, "select_page", spy)
    for name in ("b", "A", "c"):
        api.post("/connections", json=sql_server_connection_body(name=name))
    names = [i["name"] for i in api.get("/connections", params={"orderby": "name"}).json()["items"]]
    assert names == ["A", "b", "c"] and used == []  # ASCII: lower-cased and ordered in SQL
    # Python lower-cases "Ä" to "ä", SQL only A-Z: this order needs Python
    api.post("/connections", json=sql_server_connection_body(name="Äb"))
    names = [i["name"] for i in api.get("/connections", params={"orderby": "name"}).json()["items"]]
    assert names == ["A", "b", "c", "Äb"] and used == ["python"]
    # a key inside the documents is ordered in Python too
    ordered = api.get("/connections", params={"orderby": "auth.specName", "limit": "3"})
    assert len(ordered.json()["items"]) == 3 and used == ["python", "python"]


def test_a_runs_created_at_is_its_own(api: ApiClient, runtime: Runtime) -> None:
    """The row's created_at is the run record's creation time (migration 0004's trigger), so
    createdAt filters and the default order run in SQL on the column."""
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    params = {"windowStartTime": str(now - 7200), "windowEndTime": str(now - 60)}
    later = {**params, "startTime": str(now + 3600)}  # waits: the run keeps its state
    made = api.post("/runs", json={"flowId": flow_id, "params": later})
    assert made.status_code == 201, made.text
    run = api.get(f"/runs/{made.json()['id']}").json()["items"][0]
    with runtime.transaction() as session:
        stored = session.scalar(select(Resource.created_at).where(Resource.id == run["id"]))
    assert stored == run["createdAt"]
    for prop in (f"createdAt=={run['createdAt']}", f"createdAt>={run['createdAt']}"):
        assert [i["id"] for i in api.get("/runs", params={"property": prop}).json()["items"]] == [
            run["id"]
        ]
    assert api.get("/runs", params={"property": f"createdAt>{run['createdAt']}"}).json() == {
        "items": [],
        "_links": {},
    }
    api.post(f"/runs/{run['id']}/action", params={"op": "cancel"})


@pytest.mark.parametrize(
    "forged", [[1, 10**30], [1, 1.5], [2, "x"], [0, "x"], [0, ""]], ids=lambda v: repr(v)
)
def test_a_forged_sort_key_is_refused(api: ApiClient, forged: list[Any]) -> None:
    for name in ("a", "b"):
        api.post("/connections", json=sql_server_connection_body(name=name))
    href = api.get("/connections", params={"limit": "1"}).json()["_links"]["next"]["href"]
    token = href.split("continuationToken=")[1].split("&")[0]
    padded = token + "=" * (-len(token) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded))
    data["a"][0] = forged  # the createdAt part of the key
    raw = json.dumps(data, separators=(",", ":")).encode()
    again = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = api.get("/connections", params={"limit": "1", "continuationToken": again})
    assert response.status_code == 400, response.text
