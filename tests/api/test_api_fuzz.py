"""Random bodies and query strings never crash the API: 2xx or a documented 400, nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_harness import ApiClient, sql_server_connection_body

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["name", "description", "auth", "connectionSpec"]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _assert_clean(response: Any, ok: set[int]) -> None:
    assert response.status_code in ok | {400}, (response.status_code, response.text)
    if response.status_code == 400:
        body = response.json()
        assert "report" in body or "detail" in body
        assert "Traceback" not in response.text


@FUZZ
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_mutated_create_bodies(api: ApiClient, field: str, value: Any) -> None:
    body = sql_server_connection_body()
    body[field] = value
    _assert_clean(api.post("/connections", json=body), {201})


@FUZZ
@given(body=JSON)
def test_arbitrary_json_bodies(api: ApiClient, body: Any) -> None:
    _assert_clean(api.post("/connections", json=body), {201})


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes(api: ApiClient, raw: bytes) -> None:
    _assert_clean(api.post("/connections", content=raw), {201})


@FUZZ
@given(
    prop=st.text(max_size=30),
    orderby=st.text(max_size=12),
    limit=st.text(max_size=6),
    token=st.text(max_size=30),
    count=st.sampled_from(["", "true", "false"]) | st.text(max_size=6),
)
def test_arbitrary_list_parameters(
    api: ApiClient, prop: str, orderby: str, limit: str, token: str, count: str
) -> None:
    params = {
        "property": prop,
        "orderby": orderby,
        "limit": limit,
        "continuationToken": token,
        "count": count,
    }
    _assert_clean(api.get("/connections", params=params), {200})


def test_non_standard_json_constants_are_rejected(api: ApiClient) -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = '{"name": "n", "auth": {"specName": "x", "params": {"a": VALUE}}}'
        body = body.replace("VALUE", constant)
        response = api.post("/connections", content=body)
        assert response.status_code == 400 and "not valid JSON" in response.text


@FUZZ
@given(ops=JSON)
def test_arbitrary_patch_bodies(api: ApiClient, ops: Any) -> None:
    created = api.post("/connections", json=sql_server_connection_body())
    if created.status_code != 201:
        return
    url = f"/connections/{created.json()['id']}"
    response = api.patch(url, json=ops, headers={"If-Match": created.json()["etag"]})
    _assert_clean(response, {200})
