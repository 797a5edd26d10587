"""The property filter grammar, ordering and keyset paging, on plain dicts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowservice.api.listing import parse_list_query, select_page, values_at
from flowservice.errors import InvalidRequest


def _query(
    *properties: str,
    orderby: str | None = None,
    limit: str | None = None,
    token: str | None = None,
    count: str | None = None,
) -> Any:
    return parse_list_query(
        kind="things",
        properties=properties,
        orderby=orderby,
        limit=limit,
        continuation_token=token,
        count=count,
        default_limit=50,
        max_limit=100,
    )


ITEMS = [
    {
        "id": "1",
        "name": "b",
        "createdAt": 10,
        "spec": {"id": "s1"},
        "tags": ["x", "y"],
        "cols": [{"name": "c1"}],
        "on": True,
    },
    {
        "id": "2",
        "name": "a",
        "createdAt": 20,
        "spec": {"id": "s2"},
        "tags": [],
        "cols": [{"name": "c2"}],
        "on": False,
    },
    {
        "id": "3",
        "name": "C",
        "createdAt": 30,
        "spec": {"id": "s1"},
        "tags": ["y"],
        "cols": [{"name": "c1"}, {"name": "c3"}],
        "on": True,
    },
]


def _ids(*properties: str, **kwargs: Any) -> list[str]:
    return [i["id"] for i in select_page(ITEMS, _query(*properties, **kwargs), path="/x")["items"]]


def test_operators_and_paths() -> None:
    assert _ids("name==a") == ["2"]
    assert _ids('name=="a"') == ["2"]
    assert _ids("id==1,3") == ["1", "3"]
    assert _ids("id!=1,3") == ["2"]
    assert _ids("createdAt>10") == ["2", "3"]
    assert _ids("createdAt>=20", "createdAt<=20") == ["2"]
    assert _ids("createdAt<20") == ["1"]
    assert _ids("spec.id==s1") == ["1", "3"]
    assert _ids("tags[]==y") == ["1", "3"]
    assert _ids("cols[].name==c3") == ["3"]
    assert _ids("on==true") == ["1", "3"]
    assert _ids("missing.path==x") == []


def test_numbers_compare_as_numbers() -> None:
    items = [{"id": "a", "n": 9}, {"id": "b", "n": 10}]
    page = select_page(items, _query("n>9"), path="/x")
    assert [i["id"] for i in page["items"]] == ["b"]


def test_order_is_case_insensitive_and_stable() -> None:
    assert _ids(orderby="name") == ["2", "1", "3"]
    assert _ids(orderby="-name") == ["3", "1", "2"]
    assert _ids() == ["1", "2", "3"]  # default: creation order


@pytest.mark.parametrize("bad", ["name", "=x", "name==", "name=~x", "a..b==x", "n>1,2"])
def test_bad_filters(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        _query(bad)


def test_values_at_fans_out() -> None:
    assert values_at({"a": [{"b": 1}, {"b": 2}]}, "a[].b") == [1, 2]
    assert values_at({"a": {"b": 1}}, "a.b") == [1]
    assert values_at({"a": 1}, "a.b") == []


@given(
    names=st.lists(st.text(alphabet="abcXYZ", min_size=0, max_size=4), max_size=30),
    limit=st.integers(min_value=1, max_value=7),
    descending=st.booleans(),
)
def test_paging_visits_every_item_once_in_order(
    names: list[str], limit: int, descending: bool
) -> None:
    items = [{"id": f"{i:03d}", "name": n, "createdAt": i} for i, n in enumerate(names)]
    orderby = "-name" if descending else "name"
    seen: list[str] = []
    token = None
    for _ in range(len(items) + 2):
        page = select_page(items, _query(orderby=orderby, limit=str(limit), token=token), path="/x")
        seen += [i["id"] for i in page["items"]]
        nxt = page["_links"].get("next")
        if not nxt:
            break
        token = nxt["href"].split("continuationToken=")[1].split("&")[0]
    assert sorted(seen) == sorted(i["id"] for i in items)
    got = [items[int(i)]["name"].lower() for i in seen]
    assert got == sorted(got, reverse=descending)


def test_count_and_limit_conflict() -> None:
    assert select_page(ITEMS, _query("spec.id==s1", count="true"), path="/x") == {"count": 2}
    with pytest.raises(InvalidRequest) as info:
        _query(count="true", limit="5")
    assert info.value.code == 1401


def test_empty_parameters_mean_absent() -> None:
    plain = select_page(ITEMS, _query(), path="/x")
    empty = _query("", " ", orderby="", limit="", token="", count="")
    assert (empty.limit, empty.count, empty.order, empty.after) == (50, False, (), None)
    assert select_page(ITEMS, empty, path="/x") == plain
    assert (
        select_page(ITEMS, _query(count=" ", limit="2"), path="/x")["items"] == plain["items"][:2]
    )


@pytest.mark.parametrize("limit", ["9" * 5_000, "²", "٣", "0", "101", "-1", "1e2"])
def test_limits_outside_the_range_are_400(limit: str) -> None:
    with pytest.raises(InvalidRequest, match="limit must be an integer from 1 to 100"):
        _query(limit=limit)


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('{"f": "x", "a": ' + "[" * 2_000 + "]" * 2_000 + "}", "deeper than"),
        ('{"f": "x", "a": [[1, ' + "9" * 5_000 + "]]}", "more than"),
        ('{"f": "x", "a": [[1, 1e999]]}', "out of range"),
        ('{"f": "x", "a": [[1, NaN]]}', "Invalid continuationToken"),
        ("\xff\xfe", "Invalid continuationToken"),
    ],
)
def test_hostile_continuation_tokens_are_400(text: str, rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule) as info:
        _query(token=_token(text))
    assert "continuationToken" in info.value.message and "9999" not in info.value.message


def test_filter_integers_have_a_digit_limit() -> None:
    assert _ids("createdAt>" + "9" * 40) == []
    with pytest.raises(InvalidRequest, match="more than 40 digits") as info:
        _query("createdAt>" + "9" * 41)
    assert "9" * 41 not in info.value.message
    with pytest.raises(InvalidRequest) as long_filter:
        _query("x" * 10_000)
    assert len(long_filter.value.message) < 200
