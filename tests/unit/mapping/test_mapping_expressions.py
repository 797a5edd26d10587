from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowservice.mapping.casting import Evaluated
from flowservice.mapping.expressions import ExpressionTypeError, compile_expression
from flowservice.mapping.syntax import parse

UTC = dt.UTC


def _run(text: str, **columns: pa.Array) -> Evaluated:
    batch = pa.record_batch(columns)
    return compile_expression(parse(text), batch.schema).evaluate(batch)


def _values(text: str, **columns: pa.Array) -> list[Any]:
    result = _run(text, **columns)
    values: list[Any] = result.values.to_pylist()
    return values


def _failed_rows(result: Evaluated) -> list[int]:
    mask = pa.repeat(pa.scalar(False), len(result.values))
    for failure in result.failures:
        mask = pc.or_(mask, failure.mask)
    rows: list[int] = pc.indices_nonzero(mask).to_pylist()
    return rows


def test_text_functions_handle_unicode_and_nulls() -> None:
    names = pa.array(["  Zoë ", "STRASSE", None, "ǅemal", "İstanbul"])
    assert _values("upper(trim(n))", n=names) == ["ZOË", "STRASSE", None, "ǄEMAL", "İSTANBUL"]
    assert _values("lower(n)", n=names)[:4] == ["  zoë ", "strasse", None, "ǆemal"]
    assert _values("ltrim(n)", n=names)[0] == "Zoë "
    assert _values("rtrim(n)", n=names)[0] == "  Zoë"


def test_concat_skips_nulls_and_renders_other_types() -> None:
    first = pa.array(["Ann", None, None])
    last = pa.array(["Lee", "Kim", None])
    assert _values("concat(f, ' ', l)", f=first, l=last) == ["Ann Lee", " Kim", " "]
    assert _values("concat(f, l)", f=first, l=last) == ["AnnLee", "Kim", None]
    mixed = _values(
        "concat(n, '|', d, '|', b)",
        n=pa.array([7, None], pa.int32()),
        d=pa.array([dt.date(2024, 2, 29), None]),
        b=pa.array([True, None]),
    )
    assert mixed == ["7|2024-02-29|true", "||"]


def test_coalesce_takes_the_first_non_null() -> None:
    a = pa.array([None, 2, None], pa.int32())
    b = pa.array([1, 5, None], pa.int64())
    assert _values("coalesce(b, a, 0)", a=a, b=b) == [1, 5, 0]
    assert _values("coalesce(s, 'n/a')", s=pa.array([None, "x"])) == ["n/a", "x"]
    small = pa.array([None, 3], pa.int16())
    assert _values("coalesce(n, 0)", n=small) == [0, 3]
    assert _run("coalesce(n, 0)", n=small).values.type == pa.int16()
    money = pa.array([None], pa.decimal128(19, 4))
    assert _values("coalesce(m, 1.25)", m=money) == [Decimal("1.2500")]


def test_to_date_with_formats_and_bad_rows() -> None:
    born = pa.array(["05/01/2024", "31/02/2024", None, "1/1/2024", "2024-01-05", "29/02/2023"])
    result = _run("to_date(b, 'dd/MM/yyyy')", b=born)
    assert result.values.to_pylist() == [dt.date(2024, 1, 5), None, None, None, None, None]
    assert _failed_rows(result) == [1, 3, 4, 5]
    assert (
        result.failures[0].reason(1)
        == "cannot parse '31/02/2024' as a date with format 'dd/MM/yyyy'"
    )
    loose = _values("to_date(b, 'd/M/yyyy')", b=pa.array(["1/1/2024", "15/12/1999"]))
    assert loose == [dt.date(2024, 1, 1), dt.date(1999, 12, 15)]


def test_to_date_without_format_reads_iso_and_passes_dates_through() -> None:
    assert _values("to_date(s)", s=pa.array(["2024-03-01", None])) == [dt.date(2024, 3, 1), None]
    ts = pa.array([dt.datetime(2024, 3, 1, 23, 59)], pa.timestamp("us", tz="UTC"))
    assert _values("to_date(t)", t=ts) == [dt.date(2024, 3, 1)]


def test_to_timestamp_with_zone_and_offsets() -> None:
    local = pa.array(["2024-07-01 12:00:00", "2024-01-15 12:00:00", None])
    paris = _values("to_timestamp(s, 'yyyy-MM-dd HH:mm:ss', 'Europe/Paris')", s=local)
    assert paris == [
        dt.datetime(2024, 7, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 1, 15, 11, tzinfo=UTC),
        None,
    ]
    written = pa.array(
        ["2024-07-01T12:00:00+05:30", "2024-07-01T12:00:00Z", "2024-07-01T12:00:00-0800"]
    )
    got = _values("to_timestamp(s, \"yyyy-MM-dd'T'HH:mm:ssXXX\", 'Asia/Tokyo')", s=written)
    # A written offset wins over the zone argument.
    assert got == [
        dt.datetime(2024, 7, 1, 6, 30, tzinfo=UTC),
        dt.datetime(2024, 7, 1, 12, tzinfo=UTC),
        dt.datetime(2024, 7, 1, 20, tzinfo=UTC),
    ]


def test_to_timestamp_iso_default_fractions_and_12_hour_clock() -> None:
    iso = pa.array(["2024-01-05T10:11:12.123456Z", "2024-01-05 10:11", "not a date"])
    result = _run("to_timestamp(s)", s=iso)
    assert result.values.to_pylist() == [
        dt.datetime(2024, 1, 5, 10, 11, 12, 123456, tzinfo=UTC),
        dt.datetime(2024, 1, 5, 10, 11, tzinfo=UTC),
        None,
    ]
    assert _failed_rows(result) == [2]
    clock = _values(
        "to_timestamp(s, 'MMM d, yyyy h:mm a')",
        s=pa.array(["Jan 5, 2024 12:05 AM", "jan 5, 2024 12:05 pm", "Dec 31, 1999 11:59 PM"]),
    )
    assert clock == [
        dt.datetime(2024, 1, 5, 0, 5, tzinfo=UTC),
        dt.datetime(2024, 1, 5, 12, 5, tzinfo=UTC),
        dt.datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ]
    millis = _values("to_timestamp(s, 'yyyyMMddHHmmssSSS')", s=pa.array(["20240105101112987"]))
    assert millis == [dt.datetime(2024, 1, 5, 10, 11, 12, 987000, tzinfo=UTC)]


def test_dst_gap_moves_past_the_gap_and_overlap_takes_the_first_instant() -> None:
    times = pa.array(["2024-03-31 02:30:00", "2024-10-27 02:30:00"])
    got = _values("to_timestamp(s, 'yyyy-MM-dd HH:mm:ss', 'Europe/Paris')", s=times)
    assert got == [
        dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
        dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
    ]


def test_cast_reports_each_bad_row() -> None:
    text = pa.array(["12", " 7 ", "x", None, "99999999999", "1.5"])
    result = _run("cast(s, 'int')", s=text)
    assert result.values.to_pylist() == [12, 7, None, None, None, None]
    assert _failed_rows(result) == [2, 4, 5]
    assert result.failures[0].reason(4) == "cannot convert '99999999999' to int"


def test_cast_to_exact_decimal_refuses_rounding() -> None:
    result = _run("cast(s, 'decimal(6,2)')", s=pa.array(["1234.56", "1.234", "-0.5", "12345.6"]))
    assert result.values.to_pylist() == [Decimal("1234.56"), None, Decimal("-0.50"), None]
    assert _failed_rows(result) == [1, 3]


def test_cast_numbers_booleans_and_to_string() -> None:
    assert _values("cast(s, 'boolean')", s=pa.array(["TRUE", "0", "yes"])) == [True, False, None]
    assert _values("cast(n, 'string')", n=pa.array([1.5, None])) == ["1.5", None]
    assert _values("cast(n, 'integer')", n=pa.array([3], pa.int8())) == [3]
    assert _values("cast(n, 'number')", n=pa.array(["1e3", "-.5"])) == [1000.0, -0.5]


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("lower(n)", 6, "needs text but argument 1 is int32"),
        ("nope(s)", 0, "unknown function nope()"),
        ("missing", 0, "no source column 'missing'"),
        ("to_date(s, 'yyyy-MM-dd QQ')", 11 + 1 + 11, "unsupported pattern letter 'Q'"),
        ("to_date(s, n)", 11, "needs a date format as a string literal"),
        ("to_timestamp(s, 'yyyy', 'Mars/Base')", 24, "unknown time zone"),
        ("cast(s, 'varchar')", 8, "unknown XDM type"),
        ("cast(b, 'date')", 0, "cannot cast bool to date"),
        ("coalesce(n, 'x')", 12, "must share a type"),
        ("coalesce(n, 3000000000)", 12, "must share a type"),
        ("lower(s, s)", 0, "takes 1 arguments, got 2"),
        ("to_date(s, 'dd/MM/yy')", 18, "unsupported pattern 'yy'"),
    ],
)
def test_type_errors_name_the_position(text: str, position: int, message: str) -> None:
    schema = pa.schema([("s", pa.string()), ("n", pa.int32()), ("b", pa.bool_())])
    with pytest.raises(ExpressionTypeError) as err:
        compile_expression(parse(text), schema)
    assert message in err.value.message
    assert err.value.position == position


def test_column_references_are_case_insensitive_when_unambiguous() -> None:
    assert _values("upper(NAME)", name=pa.array(["a"])) == ["A"]
    schema = pa.schema([("a", pa.string()), ("A", pa.string())])
    with pytest.raises(ExpressionTypeError, match="no source column"):
        compile_expression(parse("lower(`a `)"), schema)


def test_failures_inside_arguments_propagate() -> None:
    result = _run("concat('d=', to_date(s, 'yyyy-MM-dd'))", s=pa.array(["2024-01-01", "bad"]))
    assert result.values.to_pylist() == ["d=2024-01-01", "d="]
    assert _failed_rows(result) == [1]
    assert "cannot parse 'bad'" in result.failures[0].reason(1)


@pytest.mark.parametrize("other", ["1", "x"])
def test_a_value_converts_the_same_whatever_else_is_in_its_batch(other: str) -> None:
    # With "x" the whole-array cast fails and the screened path runs; results must agree.
    texts = ["nan", "-Infinity", "1E+2", "0x10", " 7 ", "TRUE"]
    floats = _values("cast(s, 'number')", s=pa.array([*texts[:3], other]))[:3]
    assert [str(v) for v in floats] == ["nan", "-inf", "100.0"]
    assert _values("cast(s, 'int')", s=pa.array([texts[3], texts[4], other]))[:2] == [16, 7]
    assert _values("cast(s, 'decimal(5,1)')", s=pa.array(["1e2", other]))[0] == Decimal("100.0")
    assert _values("cast(s, 'boolean')", s=pa.array([texts[5], other]))[0] is True
