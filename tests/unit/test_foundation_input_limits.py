"""The input limits on their own: JSON depth and numbers, query integers, filter regexes."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.api.filter_regex import compile_filter_regex
from flowservice.api.input_limits import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_REGEX_LENGTH,
    json_nests_deeper,
    load_json,
    parse_int,
    shown,
)
from flowservice.api.services import catalog_query
from flowservice.api.services.catalog_query import matching, parse_catalog_query
from flowservice.errors import InvalidRequest

# strings full of brackets, quotes and backslashes: what a bracket scan could trip on
TRICKY_TEXT = st.text(alphabet='[]{}"\\ax\n', max_size=8)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**39), 10**39)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=30,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def nested(depth: int, leaf: str = "0") -> str:
    return (
        '{"a": [' * (depth // 2)
        + "[" * (depth % 2)
        + leaf
        + "]" * (depth % 2)
        + "]}" * (depth // 2)
    )


@given(value=JSON_VALUES, limit=st.integers(0, 8))
def test_the_depth_scan_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    text = json.dumps(value, indent=1 if limit % 2 else None)
    assert json_nests_deeper(text, limit) == (depth_of(value) > limit)


@given(value=JSON_VALUES)
def test_within_the_limits_load_json_is_json_loads(value: Any) -> None:
    text = json.dumps(value)
    assert load_json(text, what="The body") == json.loads(text)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_the_deepest_allowed_nesting_loads(depth: int) -> None:
    assert depth_of(load_json(nested(depth), what="The body")) == depth


@pytest.mark.parametrize(
    "text",
    [
        nested(MAX_JSON_DEPTH + 1),
        nested(100_000),
        "[" * 100_000,  # never closed: the parser would still recurse into it
        # a "]" counted as a bracket would close the outer list early
        '["]", ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "]",
    ],
)
def test_deeper_nesting_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        load_json(text, what="The body")


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 10_000, "t": '\\"{' * 1_000})
    assert load_json(text, what="The body")["s"] == "[" * 10_000


@pytest.mark.parametrize(
    "text",
    [
        '"' + '\\"' * 400_000,  # one string never closed: escaped quotes to the end
        '"' + '\\"' * 400_000 + "\\",
        '["' + "[" * 400_000,
        '"\\' * 400_000,
    ],
)
def test_unterminated_strings_are_scanned_in_linear_time(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(json.JSONDecodeError):
        load_json(text, what="The body")
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("9" * (MAX_INT_DIGITS + 1), "integer of more than"),
        ("[-" + "1" * 5_000 + "]", "integer of more than"),
        ('{"a": 1e999}', "out of range"),
        ("-1e400", "out of range"),
    ],
)
def test_oversized_numbers_are_refused_without_echo(text: str, rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule) as info:
        load_json(text, what="The body")
    assert info.value.message.startswith("The body holds") and "999" not in info.value.message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_malformed_json(constant: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        load_json(f"[{constant}]", what="The body")


def test_the_longest_allowed_integers_load() -> None:
    digits = "9" * MAX_INT_DIGITS
    assert load_json(f"[{digits}, -{digits}]", what="The body") == [int(digits), -int(digits)]


@settings(max_examples=300)
@given(text=st.text(alphabet='[]{}"\\:,0123456789-e.tn ', max_size=60))
def test_any_text_loads_or_fails_as_json_or_as_a_limit(text: str) -> None:
    try:
        loaded = load_json(text, what="The body")
    except (InvalidRequest, json.JSONDecodeError):
        return
    assert loaded == json.loads(text)


@given(text=st.text(max_size=50) | st.integers(-(10**60), 10**60).map(str))
def test_parse_int_answers_an_int_or_invalid_request(text: str) -> None:
    try:
        value = parse_int(text, name="start")
    except InvalidRequest as exc:
        assert exc.message.startswith("start must be")
    else:
        assert value == int(text) and value >= 0 and text.strip().isascii()


@pytest.mark.parametrize("text", ["9" * 5_000, "²", "٣", "-1", "+1", "1.0", "0x10", "", "1 2"])
def test_parse_int_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest, match="limit must be an integer from 1 to 100"):
        parse_int(text, name="limit", low=1, high=100)


def test_parse_int_bounds() -> None:
    assert parse_int(" 007 ", name="limit", low=1, high=100) == 7
    assert parse_int("9" * MAX_INT_DIGITS, name="start") == int("9" * MAX_INT_DIGITS)
    with pytest.raises(InvalidRequest):
        parse_int("101", name="limit", low=1, high=100)


def test_shown_cuts_long_input() -> None:
    assert shown("abc") == "'abc'"
    long = shown("x" * 10_000)
    assert len(long) < 80 and long.endswith("(10000 characters)")


# ---- regular expressions of ~ filters ----

SAFE = [
    "^g",
    "acme",
    "^acme.*prod$",
    "^(prod|stage)-\\d+$",
    "\\d{4}-\\d{2}-\\d{2}",
    "^[a-z]+_[0-9]+$",
    "(?i)^orders",
    "[]a]x",
    "(?P<word>ab)c",
    "(ab)*c",
    "^.*foo.*",
    "a{,3}b",
    "x{}",
]
UNSAFE = {
    "(a+)+$": "repeats a group",
    "(a|aa)*b": "repeats a group",
    "(a|b){2}": "repeats a group",
    "(\\w*)*x": "repeats a group",
    "a*a*b": "backtrack too long",
    ".*foo.*": "backtrack too long",
    "^a*|b*c*": "backtrack too long",
    "(?m)^a*b*c": "backtrack too long",
    "(a)\\1": "back-reference",
    "(?P<n>a)(?P=n)": "back-reference",
    "(?(1)a|b)": "conditional",
    "(?x)a  b": "verbose",
    "a{99999}": "more than 1000 times",
    "[[a]": "in a class",
    "[a--b]": "in a class",
    "(" * 500 + "a" + ")" * 500: "longer than",
    "a**": "not valid",
    "(": "not valid",
}


@pytest.mark.parametrize("pattern", SAFE)
def test_everyday_regexes_are_accepted(pattern: str) -> None:
    assert compile_filter_regex(pattern).pattern == pattern


@pytest.mark.parametrize(("pattern", "why"), UNSAFE.items(), ids=list(UNSAFE))
def test_unsafe_regexes_are_refused(pattern: str, why: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(why)) as info:
        compile_filter_regex(pattern)
    assert info.value.code == 1440 and pattern[:50] not in info.value.message


REGEX_PIECES = st.sampled_from(
    ["a", "b", ".", "\\w", "[ab]", "(", ")", "(?:", "|", "*", "+", "?", "{2,9}", "{3}", "^", "$"]
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(REGEX_PIECES, max_size=14), prefix=st.sampled_from(["", "^"]))
def test_accepted_regexes_never_backtrack_exponentially(pieces: list[str], prefix: str) -> None:
    """On a short subject every polynomial is small; only an exponential could take long."""
    pattern = prefix + "".join(pieces)
    try:
        compiled = compile_filter_regex(pattern)
    except InvalidRequest:
        return
    started = time.monotonic()
    for subject in ("a" * 24 + "!", "ab" * 12 + "!", "!" + "a" * 24):
        compiled.search(subject)
    assert time.monotonic() - started < 1.0, pattern


@given(pattern=st.text(alphabet="()[]{}|*+?^$\\.-,:=!<>Pa1x&~#", max_size=MAX_REGEX_LENGTH + 5))
def test_any_text_compiles_or_is_refused_cleanly(pattern: str) -> None:
    """Never another exception, nor a warning (warnings are errors in these tests)."""
    try:
        compile_filter_regex(pattern)
    except InvalidRequest as exc:
        assert exc.code == 1440


def test_regex_filters_stop_when_their_time_budget_is_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = [{"id": str(i), "name": f"n{i}", "created": i} for i in range(3)]
    query = parse_catalog_query(
        properties=["name~^n"],
        order_by=None,
        limit=None,
        start=None,
        filterable=frozenset({"name"}),
        default_limit=10,
        max_limit=10,
    )
    assert [item["id"] for item in matching(items, query, created_key="created")] == ["0", "1", "2"]
    monkeypatch.setattr(catalog_query, "REGEX_TIME_BUDGET_S", -1.0)
    with pytest.raises(InvalidRequest, match="regular expression filter took over") as info:
        matching(items, query, created_key="created")
    assert info.value.code == 1440
