"""Edge cases of lpad, rpad, left, right, get_url_query_str, set_date_part and to_bigint."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowservice.mapping.casting import Evaluated
from flowservice.mapping.expressions import ExpressionTypeError, compile_expression
from flowservice.mapping.syntax import parse

UTC = dt.UTC


def _run(text: str, **columns: pa.Array) -> Evaluated:
    batch = pa.record_batch(columns or {"_": pa.array([0])})
    return compile_expression(parse(text), batch.schema).evaluate(batch)


def _values(text: str, **columns: pa.Array) -> list[object]:
    return list(_run(text, **columns).values.to_pylist())


def _failed(result: Evaluated) -> list[int]:
    mask = pa.repeat(pa.scalar(False), len(result.values))
    for failure in result.failures:
        mask = pc.or_(mask, failure.mask)
    rows: list[int] = pc.indices_nonzero(mask).to_pylist()
    return rows


def test_padding_keeps_longer_text_and_pads_with_a_space_by_default() -> None:
    s = pa.array(["bat", "", None, "batsman", "é"])
    assert _values('lpad(s, 5, "yz")', s=s) == ["yzbat", "yzyzy", None, "batsman", "yzyzé"]
    assert _values('rpad(s, 5, "yz")', s=s) == ["batyz", "yzyzy", None, "batsman", "éyzyz"]
    assert _values('lpad(s, 5, "0")', s=s) == ["00bat", "00000", None, "batsman", "0000é"]
    assert _values("lpad(s, 5, null)", s=s)[0] == "  bat"
    assert _values('rpad(s, 5, "")', s=s)[0] == "bat  "
    assert _values('lpad(s, -1, "yz")', s=s) == ["bat", "", None, "batsman", "é"]
    assert _values('rpad(s, -1, "0")', s=s) == ["bat", "", None, "batsman", "é"]


def test_left_and_right_count_characters() -> None:
    s = pa.array(["abcde", "ab", None, "žluť"])
    assert _values("left(s, 3)", s=s) == ["abc", "ab", None, "žlu"]
    assert _values("right(s, 3)", s=s) == ["cde", "ab", None, "luť"]
    assert _values("left(s, 0)", s=s) == ["", "", None, ""]
    assert _values("right(s, -2)", s=s) == ["", "", None, ""]


def test_query_maps() -> None:
    u = pa.array(
        [
            "http://h/p?a=1&b&a=3&&c=",
            "http://h/p",
            "http://h/p#top",
            "http://h/p?",
            "not a url?a=1",
            None,
            "http://h/p?x=1%20y&y=2#a&b=c",
        ]
    )
    assert _values('get_url_query_str(u, "remove")', u=u) == [
        [("a", "3"), ("b", None), ("c", "")],
        None,
        None,
        [],
        None,
        None,
        [("x", "1%20y"), ("y", "2")],
    ]
    appended = _values('get_url_query_str(u, "append")', u=u)
    assert appended[2] == [("_anchor_", "top")]
    assert appended[6] == [("x", "1%20y"), ("y", "2"), ("_anchor_", "a&b=c")]
    retained = _values('get_url_query_str(u, "retain")', u=u)
    assert retained[6] == [("x", "1%20y"), ("y", "2#a"), ("b", "c")]
    assert _values('is_empty(get_url_query_str(u, "remove"))', u=u)[:4] == [
        False,
        True,
        True,
        True,
    ]


def test_set_date_part_keeps_the_day_valid_and_fails_values_out_of_range() -> None:
    t = pa.array(
        [
            dt.datetime(2024, 1, 31, 10, 20, 30, tzinfo=UTC),
            dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
            None,
            dt.datetime(1969, 12, 31, 23, 30, tzinfo=UTC),
        ]
    )
    assert _values('set_date_part("month", 2, t)', t=t)[0] == dt.datetime(
        2024, 2, 29, 10, 20, 30, tzinfo=UTC
    )
    assert _values('set_date_part("yyyy", 2023, t)', t=t)[1] == dt.datetime(
        2023, 2, 28, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert _values('set_date_part("hh", 1, t)', t=t)[3] == dt.datetime(
        1969, 12, 31, 1, 30, tzinfo=UTC
    )
    assert _values('set_date_part("S", 5, t)', t=t)[2] is None
    day31 = _run('set_date_part("dd", 31, t)', t=t)
    assert day31.values.to_pylist()[1:] == [
        None,
        None,
        dt.datetime(1969, 12, 31, 23, 30, tzinfo=UTC),
    ]
    assert _failed(day31) == [1]
    assert "day" in day31.failures[0].reason(1)
    n = pa.array([0, 24, None, 7])
    hours = _run('set_date_part("hour", n, t)', t=t, n=n)
    assert _failed(hours) == [1]
    assert hours.values.to_pylist()[3] == dt.datetime(1969, 12, 31, 7, 30, tzinfo=UTC)
    assert _failed(_run('set_date_part("year", 10000, t)', t=t)) == [0, 1, 3]


def test_set_date_part_reads_and_writes_the_wall_clock_of_the_zone() -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    t = pa.array([dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC)])  # 01:30 in Paris
    zoned = 'zone_date_to_zone(t, "Europe/Paris")'
    later = _values(f'set_date_part("hh", 4, {zoned})', t=t)[0]
    assert later == dt.datetime(2024, 3, 31, 4, 30, tzinfo=paris)
    # 02:30 does not exist that night: the first instant after the gap
    skipped = _values(f'set_date_part("hh", 2, {zoned})', t=t)[0]
    assert skipped == dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC)


def test_to_bigint_fails_a_fraction_rather_than_truncating_it() -> None:
    # Data Prep's reference shows to_bigint("1000000.34") as 1000000.34; a long cannot hold that
    result = _run('to_bigint("1000000.34")')
    assert result.values.to_pylist() == [None] and _failed(result) == [0]
    assert result.failures[0].reason(0) == "cannot convert '1000000.34' to long"
    assert _values('to_bigint(" 1000000 ")') == [1000000]
    assert _values('to_decimal("1000000.34")') == [1000000.34]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('lpad(s, n, "x")', "COUNT as a number literal"),
        ("lpad(s, 3, s)", "PADDING as a string literal"),
        ("left(n, 2)", "needs text"),
        ('get_url_query_str(s, "keep")', '"retain", "remove" or "append"'),
        ('set_date_part("week", 2, s)', "unknown date part"),
        ('set_date_part("d", "2", s)', "needs a whole number"),
        ('set_date_part("d", 2, n)', "needs a date-time"),
    ],
)
def test_type_errors_at_validation(expression: str, message: str) -> None:
    schema = pa.schema([("s", pa.string()), ("n", pa.int32())])
    with pytest.raises(ExpressionTypeError, match=message):
        compile_expression(parse(expression), schema)
