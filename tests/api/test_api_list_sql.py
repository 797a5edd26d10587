"""SQL-backed lists answer exactly what the in-Python reference answers, page by page.

For any rows of a kind and any filter, order and limit, every page of the real
app (``GET /connections``, ``/sourceConnections``, ``/targetConnections``,
``/flows``, ``/runs`` on SQLite and PostgreSQL) equals ``listing.select_page``
over the same rows' wire items, with the same continuation token, even when
rows are deleted between pages; so each item comes once, in order.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from list_cases import CASES, ROWS, Case, insert_rows, remove_rows, wire_items
from service_harness import ApiClient, new_org_id, scope_of

from flowservice.api.listing import OPERATORS, parse_list_query, select_page, values_at
from flowservice.api.runtime import Runtime
from flowservice.errors import InvalidRequest
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# literals every query may use besides the rows' own values: null, numbers float() reads,
# text that sorts around digits and letters
LITERALS = ["null", "nan", "inf", "-inf", "1e3", "1.5", " 7", "0", "-1", "abc", "Zed", "é", "true"]


def _pool(items: list[dict[str, Any]], case: Case) -> list[str]:
    """The filter literals: the items' values at every filterable path, a few shifted."""
    found = set(LITERALS)
    for item in items:
        for path in case.filterable:
            for value in values_at(item, path):
                if isinstance(value, bool):
                    found.add("true" if value else "false")
                elif isinstance(value, int):
                    found.update(str(value + shift) for shift in (-1, 0, 1))
                elif isinstance(value, str) and value.strip() and "," not in value:
                    found.add(value)
    return sorted(found)


@st.composite
def _query(draw: st.DrawFn, case: Case, pool: list[str]) -> list[tuple[str, str]]:
    paths = sorted(case.filterable)
    params: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 2))):
        path, op = draw(st.sampled_from(paths)), draw(st.sampled_from(OPERATORS))
        count = draw(st.integers(1, 3)) if op in ("==", "!=") else 1
        values = draw(st.lists(st.sampled_from(pool), min_size=count, max_size=count))
        params.append(("property", f"{path}{op}{','.join(values)}"))
    sortable = [p for p in paths if "[]" not in p]
    keys = draw(st.lists(st.sampled_from(sortable), max_size=2, unique=True))
    if keys:
        signs = draw(st.lists(st.sampled_from(["", "+", "-"]), min_size=len(keys)))
        params.append(("orderby", ",".join(s + k for s, k in zip(signs, keys, strict=False))))
    params.append(("limit", str(draw(st.integers(1, 4)))))
    return params


def _expected(runtime: Runtime, scope: Scope, case: Case, params: list[tuple[str, str]]) -> Any:
    """The reference answer: ``select_page`` over every wire item, or the 400 it raises."""
    given_params = dict(params)
    try:
        query = parse_list_query(
            kind=case.kind,
            properties=[v for k, v in params if k == "property"],
            orderby=given_params.get("orderby"),
            limit=given_params.get("limit"),
            continuation_token=given_params.get("continuationToken"),
            count=given_params.get("count"),
            default_limit=runtime.settings.default_page_size,
            max_limit=runtime.settings.max_page_size,
            filterable=case.filterable,
        )
    except InvalidRequest:
        return 400
    return select_page(wire_items(runtime, scope, case), query, path=case.path)


def _answer(client: ApiClient, path: str, params: list[tuple[str, str]]) -> Any:
    response: httpx.Response = client.get(path, params=params)
    if response.status_code == 400:
        return 400
    assert response.status_code == 200, response.text
    return response.json()


def _delete(runtime: Runtime, scope: Scope, case: Case, ids: list[str]) -> None:
    with runtime.transaction() as session:
        for resource_id in ids:
            row = resources.get_resource(
                session, scope=scope, kind=case.kind, resource_id=resource_id
            )
            resources.delete_resource(session, row=row)


@PROPERTY
@given(case=st.sampled_from(sorted(CASES.values(), key=lambda c: c.kind)), data=st.data())
def test_pages_equal_the_reference_even_with_deletes_between_pages(
    api: ApiClient, runtime: Runtime, case: Case, data: st.DataObject
) -> None:
    client = api.as_other(org_id=new_org_id(), client_id=f"list-{uuid.uuid4().hex[:12]}")
    assert client.get(case.path).status_code == 200  # the org and its sandbox exist now
    scope = scope_of(runtime, client)
    try:
        insert_rows(runtime, scope, case, data.draw(st.lists(ROWS, max_size=10), label="rows"))
        pool = _pool(wire_items(runtime, scope, case), case)
        for _ in range(3):
            params = data.draw(_query(case, pool), label="params")
            count_params = [p for p in params if p[0] != "limit"] + [("count", "true")]
            assert _answer(client, case.path, count_params) == _expected(
                runtime, scope, case, count_params
            )
            seen: list[str] = []
            while True:
                answer = _answer(client, case.path, params)
                assert answer == _expected(runtime, scope, case, params), params
                if answer == 400:
                    break
                seen += [item["id"] for item in answer["items"]]
                assert len(seen) == len(set(seen)), "an item came twice"
                nxt = answer["_links"].get("next")
                if not nxt:
                    break
                params = parse_qsl(urlsplit(nxt["href"]).query, keep_blank_values=True)
                live = [item["id"] for item in wire_items(runtime, scope, case)]
                gone = data.draw(st.lists(st.sampled_from(live), max_size=2, unique=True))
                _delete(runtime, scope, case, gone)
    finally:
        remove_rows(runtime, scope)
        client.close()
