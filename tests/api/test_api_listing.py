"""GET /connections: property filters, orderby, limit/continuationToken, count, bad input."""

from __future__ import annotations

import pytest
from service_harness import SQLSERVER_SPEC_ID, ApiClient, problem_code, sql_server_connection_body


def _make(api: ApiClient, *names: str) -> dict[str, str]:
    ids = {}
    for name in names:
        response = api.post("/connections", json=sql_server_connection_body(name=name))
        assert response.status_code == 201
        ids[name] = response.json()["id"]
    return ids


def _names(response: object) -> list[str]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_filters(api: ApiClient) -> None:
    ids = _make(api, "alpha", "beta", "gamma")
    assert _names(api.get("/connections", params={"property": 'name=="beta"'})) == ["beta"]
    assert _names(api.get("/connections", params={"property": "name==beta"})) == ["beta"]
    both = api.get("/connections", params={"property": f"id=={ids['alpha']},{ids['gamma']}"})
    assert sorted(_names(both)) == ["alpha", "gamma"]
    assert sorted(_names(api.get("/connections", params={"property": "name!=beta"}))) == [
        "alpha",
        "gamma",
    ]
    dotted = api.get("/connections", params={"property": f"connectionSpec.id=={SQLSERVER_SPEC_ID}"})
    assert len(_names(dotted)) == 3
    anded = api.get("/connections", params=[("property", "state==enabled"), ("property", "name>b")])
    assert sorted(_names(anded)) == ["beta", "gamma"]
    assert _names(api.get("/connections", params={"property": "name<=alpha"})) == ["alpha"]
    assert _names(api.get("/connections", params={"property": "name>=gamma"})) == ["gamma"]
    first = api.get(f"/connections/{ids['alpha']}").json()["items"][0]["createdAt"]
    later = api.get("/connections", params={"property": f"createdAt>{first}"})
    assert "alpha" not in _names(later)
    assert _names(api.get("/connections", params={"property": "name==nobody"})) == []


def test_orderby(api: ApiClient) -> None:
    _make(api, "b", "c", "a")
    assert _names(api.get("/connections", params={"orderby": "name"})) == ["a", "b", "c"]
    assert _names(api.get("/connections", params={"orderby": "+name"})) == ["a", "b", "c"]
    assert _names(api.get("/connections", params={"orderby": "-name"})) == ["c", "b", "a"]
    # an unencoded + arrives as a space
    assert _names(api.get("/connections?orderby=+name")) == ["a", "b", "c"]


def test_paging_with_continuation_token(api: ApiClient) -> None:
    names = [f"conn-{i:02d}" for i in range(7)]
    _make(api, *names)
    seen: list[str] = []
    response = api.get("/connections", params={"limit": "3", "orderby": "-name"})
    pages = 0
    while True:
        pages += 1
        seen += _names(response)
        nxt = response.json()["_links"].get("next")
        if not nxt:
            break
        assert nxt["href"].startswith("/connections?continuationToken=")
        response = api.get(nxt["href"])
    assert pages == 3
    assert seen == sorted(names, reverse=True)


def test_paging_survives_deletes_between_pages(api: ApiClient) -> None:
    ids = _make(api, "p1", "p2", "p3", "p4")
    first = api.get("/connections", params={"limit": "2", "orderby": "name"})
    assert _names(first) == ["p1", "p2"]
    assert api.delete(f"/connections/{ids['p2']}").status_code == 204
    second = api.get(first.json()["_links"]["next"]["href"])
    assert _names(second) == ["p3", "p4"]


def test_count(api: ApiClient) -> None:
    _make(api, "x", "y")
    assert api.get("/connections", params={"count": "true"}).json() == {"count": 2}
    filtered = api.get("/connections", params={"count": "true", "property": "name==x"})
    assert filtered.json() == {"count": 1}
    both = api.get("/connections", params={"count": "true", "limit": "1"})
    assert problem_code(both) == "FLOW-1401-400"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"property": "name"}, "FLOW-1440-400"),
        ({"property": "name=~x"}, "FLOW-1440-400"),
        ({"property": "name=="}, "FLOW-1443-400"),
        ({"property": "auth.params.connectionString==x"}, "FLOW-1448-400"),
        ({"property": "name>a,b"}, "FLOW-1450-400"),
        ({"orderby": "na me!"}, "FLOW-1433-400"),
        ({"orderby": "auth"}, "FLOW-1432-400"),
        ({"limit": "-1"}, None),
        ({"limit": "0"}, None),
        ({"limit": "99999999999"}, None),
        ({"limit": "ten"}, None),
        ({"continuationToken": "garbage!!"}, None),
        ({"continuationToken": "eyJmIjoieCIsImEiOltdfQ"}, None),
        ({"count": "maybe"}, None),
    ],
)
def test_bad_list_parameters_are_400(
    api: ApiClient, params: dict[str, str], code: str | None
) -> None:
    response = api.get("/connections", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["report"]["detailed-message"]
    if code:
        assert problem_code(response) == code


def test_token_from_another_query_is_rejected(api: ApiClient) -> None:
    _make(api, "t1", "t2")
    page = api.get("/connections", params={"limit": "1", "orderby": "name"})
    token = page.json()["_links"]["next"]["href"].split("continuationToken=")[1].split("&")[0]
    other = api.get("/connections", params={"continuationToken": token, "orderby": "-name"})
    assert other.status_code == 400
