"""Properties of the function library on arbitrary inputs: nulls, result types, no escapes."""

from __future__ import annotations

import calendar
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.mapping.casting import Evaluated
from flowservice.mapping.expressions import compile_expression
from flowservice.mapping.syntax import parse

texts = st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=25)
longs = st.lists(
    st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    min_size=1,
    max_size=25,
)
doubles = st.lists(
    st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
    min_size=1,
    max_size=25,
)

# functions of one text argument that give null for a null input (Data Prep's null in, null out)
NULL_PRESERVING_TEXT = [
    "sha1(s)",
    "sha256(s)",
    'sha512(s, "UTF-16")',
    'md5(s, "ISO-8859-1")',
    "crc32(s)",
    "lower(s)",
    "upper(s)",
    "trim(s)",
    "length(s)",
    "substr(s, 1, 3)",
    'replacestr(s, "a", "bb")',
    'split(s, ",")',
    'join("-", split(s, ","))',
    'extract_regex(s, "(a+)(b*)")',
    'matches_regex(s, "[a-c]+")',
    'startswith(s, "a")',
    "get_url_protocol(s)",
    "get_url_host(s)",
    "get_url_port(s)",
    "get_url_path(s, false)",
    "to_integer(s)",
    "to_decimal(s)",
    'date_part("dw", s)',
    's + "!"',
    's == "a"',
    'lpad(s, 6, "yz")',
    'rpad(s, 6, "0")',
    "left(s, 3)",
    "right(s, 3)",
    'get_url_query_str(s, "retain")',
    'get_url_query_str(s, "append")',
]
TOTAL_TEXT = ["is_empty(s)", "is_null(s)", "is_not_null(s)", 'coalesce(s, "x")', "uuid()"]


def _failed(result: Evaluated, rows: int) -> list[bool]:
    mask = pa.repeat(pa.scalar(False), rows)
    for failure in result.failures:
        assert len(failure.mask) == rows
        mask = pc.or_(mask, pc.fill_null(failure.mask, False))
    return [bool(x) for x in mask.to_pylist()]


def _evaluate(expression: str, column: pa.Array) -> tuple[pa.DataType, Evaluated]:
    batch = pa.record_batch({"s": column})
    compiled = compile_expression(parse(expression), batch.schema)
    return compiled.type, compiled.evaluate(batch)


@settings(max_examples=40, deadline=None)
@given(values=texts)
def test_text_functions_keep_nulls_types_and_never_raise(values: list[str | None]) -> None:
    column = pa.array(values, pa.string())
    for expression in NULL_PRESERVING_TEXT + TOTAL_TEXT:
        declared, result = _evaluate(expression, column)
        assert result.values.type == declared, expression
        assert len(result.values) == len(values), expression
        failed = _failed(result, len(values))
        out = result.values.to_pylist()
        for value, got, bad in zip(values, out, failed, strict=True):
            if bad:
                assert got is None, expression  # failed rows carry no value
            if value is None and expression in NULL_PRESERVING_TEXT:
                assert got is None and not bad, expression
            if expression in TOTAL_TEXT:
                assert got is not None and not bad, expression
        for row, bad in enumerate(failed):
            if bad:
                assert isinstance(_reason(result, row), str)


def _reason(result: Evaluated, row: int) -> str:
    for failure in result.failures:
        if failure.mask[row].as_py():
            return failure.reason(row)
    raise AssertionError("no failure explains the row")


@settings(max_examples=60, deadline=None)
@given(left=longs, right=longs)
def test_integer_arithmetic_is_exact_or_fails_the_row(
    left: list[int | None], right: list[int | None]
) -> None:
    rows = min(len(left), len(right))
    left, right = left[:rows], right[:rows]
    batch = pa.record_batch({"a": pa.array(left, pa.int64()), "b": pa.array(right, pa.int64())})
    for symbol in ("+", "-", "*", "%"):
        compiled = compile_expression(parse(f"a {symbol} b"), batch.schema)
        assert compiled.type == pa.int64()
        result = compiled.evaluate(batch)
        failed = _failed(result, rows)
        for a, b, got, bad in zip(left, right, result.values.to_pylist(), failed, strict=True):
            if a is None or b is None:
                assert got is None and not bad
                continue
            exact = _java(symbol, a, b)
            fits = exact is not None and -(2**63) <= exact < 2**63
            assert bad == (not fits), (a, symbol, b)
            assert got == (exact if fits else None)


def _java(symbol: str, a: int, b: int) -> int | None:
    if symbol == "+":
        return a + b
    if symbol == "-":
        return a - b
    if symbol == "*":
        return a * b
    if b == 0:
        return None
    return a - int(a / b) * b if abs(a) < 2**52 and abs(b) < 2**52 else a - _trunc_div(a, b) * b


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


@settings(max_examples=40, deadline=None)
@given(values=doubles)
def test_numeric_functions_keep_nulls_and_types(values: list[float | None]) -> None:
    batch = pa.record_batch({"f": pa.array(values, pa.float64())})
    for expression in ("round(f)", "ceil(f)", "floor(f)", "abs(f)", "f / 2", "-f", "max(f, 0)"):
        compiled = compile_expression(parse(expression), batch.schema)
        result = compiled.evaluate(batch)
        assert result.values.type == compiled.type
        failed = _failed(result, len(values))
        for value, got, bad in zip(values, result.values.to_pylist(), failed, strict=True):
            if value is None and not expression.startswith("max"):
                assert got is None and not bad
            if expression == "round(f)" and value is not None and abs(value) < 2**62:
                assert got == int(pc.round(pa.scalar(value), round_mode="half_up").as_py())


def _java_pad(text: str, count: int, padding: str, left: bool) -> str:
    """Apache Commons' leftPad/rightPad, whose results Adobe's lpad/rpad examples show."""
    missing = count - len(text)
    if missing <= 0:
        return text
    fill = (padding * count)[:missing]
    return fill + text if left else text + fill


@settings(max_examples=40, deadline=None)
@given(values=texts, count=st.integers(min_value=-3, max_value=40), padding=st.text(max_size=4))
def test_padding_and_ends_match_the_java_definitions(
    values: list[str | None], count: int, padding: str
) -> None:
    batch = pa.record_batch({"s": pa.array(values, pa.string())})
    quoted = padding.replace("\\", "\\\\").replace('"', '\\"')
    fill = padding or " "
    expected = {
        f'lpad(s, {count}, "{quoted}")': [
            None if v is None else _java_pad(v, count, fill, left=True) for v in values
        ],
        f'rpad(s, {count}, "{quoted}")': [
            None if v is None else _java_pad(v, count, fill, left=False) for v in values
        ],
        f"left(s, {count})": [None if v is None else v[: max(count, 0)] for v in values],
        f"right(s, {count})": [
            None if v is None else (v[-count:] if count > 0 else "") for v in values
        ],
    }
    for expression, wanted in expected.items():
        result = compile_expression(parse(expression), batch.schema).evaluate(batch)
        assert result.values.to_pylist() == wanted, expression
        assert not result.failures, expression


query_texts = st.one_of(st.none(), st.text(alphabet="ab=&%_", max_size=12))


@settings(max_examples=60, deadline=None)
@given(queries=st.lists(st.tuples(query_texts, query_texts), min_size=1, max_size=20))
def test_query_maps_keep_each_name_once_with_its_last_value(
    queries: list[tuple[str | None, str | None]],
) -> None:
    urls = [
        "http://h/p" + ("" if q is None else "?" + q) + ("" if a is None else "#" + a)
        for q, a in queries
    ]
    batch = pa.record_batch({"u": pa.array([*urls, None], pa.string())})
    for anchor in ("retain", "remove", "append"):
        expression = f'get_url_query_str(u, "{anchor}")'
        result = compile_expression(parse(expression), batch.schema).evaluate(batch)
        assert result.values.type == pa.map_(pa.string(), pa.string()) and not result.failures
        got = result.values.to_pylist()
        assert got[-1] is None
        for (query, fragment), value in zip(queries, got, strict=False):
            assert value == _query_map(query, fragment, anchor), (query, fragment, anchor)


def _query_map(query: str | None, fragment: str | None, anchor: str) -> list[object] | None:
    entries: dict[str, str | None] = {}
    if query is not None:
        text = query + "#" + fragment if anchor == "retain" and fragment is not None else query
        for part in text.split("&"):
            if part:
                name, equals, value = part.partition("=")
                entries[name] = value if equals else None
    if anchor == "append" and fragment is not None:
        entries["_anchor_"] = fragment
    elif query is None:
        return None
    return list(entries.items())


moments = st.lists(
    st.one_of(
        st.none(),
        st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)).map(
            lambda d: d.replace(tzinfo=dt.UTC)
        ),
    ),
    min_size=1,
    max_size=25,
)
_FIELDS = {"yyyy": "year", "mm": "month", "dd": "day", "hh": "hour", "mi": "minute", "ss": "second"}


@settings(max_examples=60, deadline=None)
@given(
    stamps=moments,
    numbers=st.lists(st.one_of(st.none(), st.integers(-5, 2100)), min_size=1, max_size=25),
    component=st.sampled_from(sorted(_FIELDS)),
)
def test_set_date_part_keeps_nulls_and_fails_only_values_out_of_range(
    stamps: list[dt.datetime | None], numbers: list[int | None], component: str
) -> None:
    rows = min(len(stamps), len(numbers))
    stamps, numbers = stamps[:rows], numbers[:rows]
    batch = pa.record_batch(
        {"t": pa.array(stamps, pa.timestamp("us", tz="UTC")), "n": pa.array(numbers, pa.int64())}
    )
    compiled = compile_expression(parse(f'set_date_part("{component}", n, t)'), batch.schema)
    result = compiled.evaluate(batch)
    assert result.values.type == compiled.type
    failed = _failed(result, rows)
    for stamp, number, got, bad in zip(
        stamps, numbers, result.values.to_pylist(), failed, strict=True
    ):
        if stamp is None or number is None:
            assert got is None and not bad
            continue
        expected = _replaced(stamp, _FIELDS[component], number)
        assert bad == (expected is None), (stamp, component, number)
        assert got == expected
        if bad:
            assert isinstance(_reason(result, failed.index(True)), str)


def _replaced(stamp: dt.datetime, field: str, number: int) -> dt.datetime | None:
    """java.time's ZonedDateTime.with: a new year or month keeps the day valid."""
    if field in ("year", "month"):
        year = number if field == "year" else stamp.year
        month = number if field == "month" else stamp.month
        if not (1 <= year <= 9999 and 1 <= month <= 12):
            return None
        day = min(stamp.day, calendar.monthrange(year, month)[1])
        return stamp.replace(year=year, month=month, day=day)
    try:
        return stamp.replace(**{field: number})
    except ValueError:
        return None
