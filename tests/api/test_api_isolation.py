"""Every resource belongs to (org, sandbox): other orgs and other sandboxes get 404."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from service_harness import (
    SANDBOX_API,
    ApiClient,
    outsiders_of,
    sql_server_connection_body,
)

Call = Callable[[ApiClient, str, str], httpx.Response]

ROUTES: dict[str, Call] = {
    "get": lambda c, i, e: c.get(f"/connections/{i}"),
    "patch": lambda c, i, e: c.patch(
        f"/connections/{i}",
        json=[{"op": "replace", "path": "/name", "value": "stolen"}],
        headers={"If-Match": e},
    ),
    "delete": lambda c, i, e: c.delete(f"/connections/{i}"),
    "test": lambda c, i, e: c.get(f"/connections/{i}/test"),
    "explore": lambda c, i, e: c.get(f"/connections/{i}/explore", params={"objectType": "root"}),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_connection_routes_are_isolated(api: ApiClient, route: str) -> None:
    created = api.post("/connections", json=sql_server_connection_body()).json()
    for label, outsider in outsiders_of(api).items():
        response = ROUTES[route](outsider, created["id"], created["etag"])
        assert response.status_code == 404, (label, response.text)
        assert "S3cret" not in response.text
    # the owner still sees it unchanged
    item = api.get(f"/connections/{created['id']}").json()["items"][0]
    assert item["etag"] == created["etag"] and item["name"] != "stolen"


def test_lists_and_counts_are_isolated(api: ApiClient) -> None:
    api.post("/connections", json=sql_server_connection_body())
    for outsider in outsiders_of(api).values():
        assert outsider.get("/connections").json()["items"] == []
        assert outsider.get("/connections", params={"count": "true"}).json() == {"count": 0}
    assert len(api.get("/connections").json()["items"]) == 1


def test_create_lands_in_the_callers_sandbox(api: ApiClient) -> None:
    dev = outsiders_of(api)["other sandbox"]
    made = dev.post("/connections", json=sql_server_connection_body(name="in dev")).json()
    item = dev.get(f"/connections/{made['id']}").json()["items"][0]
    assert item["sandboxName"] == "dev"
    assert api.get(f"/connections/{made['id']}").status_code == 404


def test_sandboxes_are_isolated_by_org(api: ApiClient) -> None:
    other = outsiders_of(api)["other org"]
    assert other.get("/sandboxes/dev", prefix=SANDBOX_API).status_code == 404
    assert other.delete("/sandboxes/dev", prefix=SANDBOX_API).status_code == 404
    names = [s["name"] for s in other.get("/sandboxes", prefix=SANDBOX_API).json()["sandboxes"]]
    assert names == ["prod"]
    assert api.get("/sandboxes/dev", prefix=SANDBOX_API).status_code == 200
