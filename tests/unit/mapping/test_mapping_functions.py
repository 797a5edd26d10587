"""Each Data Prep function against the examples in Adobe's function reference."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowservice.mapping import FUNCTIONS, functions, operators
from flowservice.mapping.casting import Evaluated
from flowservice.mapping.expressions import ExpressionTypeError, compile_expression
from flowservice.mapping.syntax import parse

UTC = dt.UTC


def _run(text: str, **columns: pa.Array) -> Evaluated:
    batch = pa.record_batch(columns or {"_": pa.array([0])})
    return compile_expression(parse(text), batch.schema).evaluate(batch)


def _one(text: str, **columns: pa.Array) -> Any:
    return _run(text, **columns).values.to_pylist()[0]


def _failed(result: Evaluated) -> list[int]:
    mask = pa.repeat(pa.scalar(False), len(result.values))
    for failure in result.failures:
        mask = pc.or_(mask, failure.mask)
    rows: list[int] = pc.indices_nonzero(mask).to_pylist()
    return rows


_FERRET = "foo://example.com:8042/over/there?name=ferret#nose"
ADOBE_EXAMPLES: list[tuple[str, Any]] = [
    ('concat("Hi, ", "there", "!")', "Hi, there!"),
    ('lcase("HeLLo")', "hello"),
    ('ucase("HeLLo")', "HELLO"),
    ('replacestr("This is a string re test", "re", "replace")', "This is a string replace test"),
    ('substr("This is a substring test", 7, 8)', " a subst"),
    ('split("Hello world", " ")', ["Hello", "world"]),
    ('join(" ", split("Hello world", " "))', "Hello world"),
    (
        'extract_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")',
        ["E259,E259B_009,1_1", "E259", "1_1"],
    ),
    ('matches_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")', True),
    ('sha1("my text", "UTF-8")', "c3599c11e47719df18a2448690840c5dfcce3c80"),
    (
        'sha256("my text", "UTF-8")',
        "7330d2b39ca35eaf4cb95fc846c21ee6a39af698154a83a586ee270a0d372104",
    ),
    (
        'sha512("my text", "UTF-8")',
        "a3d7e45a0d9be5fd4e4b9a3b8c9c2163c21ef708bf11b4232bb21d2a8704ada2"
        "cdcd7b367dd0788a89a5c908cfe377aceb1072a7b386b7d4fd2ff68a8fd24d16",
    ),
    ('md5("my text", "UTF-8")', "d3b96ce8c9fb4e9bd0198d03ba6852c7"),
    ('crc32("my text", "UTF-8")', "8df92e80"),
    ('get_url_protocol("https://platform.adobe.com/home")', "https"),
    ('get_url_host("https://platform.adobe.com/home")', "platform.adobe.com"),
    ('get_url_port("sftp://example.com//home/joe/employee.csv")', 22),
    ('get_url_path("sftp://example.com//home/joe/employee.csv")', "//home/joe/employee.csv"),
    ('get_url_path("sftp://example.com//home/joe/employee.csv", false)', "employee.csv"),
    (
        'date("2019-10-23 11:24", "yyyy-MM-dd HH:mm", now())',
        dt.datetime(2019, 10, 23, 11, 24, tzinfo=UTC),
    ),
    ('date("2019-10-23 11:24", "yyyy-MM-dd HH:mm")', dt.datetime(2019, 10, 23, 11, 24, tzinfo=UTC)),
    ('date_part("MM", date("2019-10-17 11:55:12", "yyyy-MM-dd HH:mm:ss"))', 10),
    ('decode("ca", "ca", "California", "pa", "Pennsylvania", "N/A")', "California"),
    ('decode("pa", "ca", "California", "pa", "Pennsylvania", "N/A")', "Pennsylvania"),
    ('decode("ny", "ca", "California", "pa", "Pennsylvania", "N/A")', "N/A"),
    ('iif("s" == "s", "True", "False")', "True"),
    ("min(3, 1, 4)", 1),
    ("max(3, 1, 4)", 4),
    ('to_decimal("20.5")', 20.5),
    ('to_float("12.5")', 12.5),
    ('to_integer("12")', 12),
    ('to_bigint("1000000")', 1000000),
    ('coalesce(null, null, null, "first", null, "second")', "first"),
    ('is_empty("")', True),
    ('lpad("bat", 8, "yz")', "yzyzybat"),
    ('rpad("bat", 8, "yz")', "batyzyzy"),
    ('left("abcde", 2)', "ab"),
    ('right("abcde", 2)', "de"),
    (f'get_url_query_str("{_FERRET}", "retain")', [("name", "ferret#nose")]),
    (f'get_url_query_str("{_FERRET}", "remove")', [("name", "ferret")]),
    (f'get_url_query_str("{_FERRET}", "append")', [("name", "ferret"), ("_anchor_", "nose")]),
    # Adobe prints "2016-04-09T11:44:44Z"; only the month changes here, the .797 stays
    (
        'set_date_part("m", 4, date("2016-11-09T11:44:44.797"))',
        dt.datetime(2016, 4, 9, 11, 44, 44, 797000, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(("expression", "expected"), ADOBE_EXAMPLES)
def test_adobe_examples(expression: str, expected: Any) -> None:
    assert _one(expression) == expected


def test_every_listed_example_runs() -> None:
    for spec in functions():
        if spec.name in {"now", "uuid", "guid", "zone_date_to_utc", "decode"}:
            continue
        result = _run(spec.example)
        assert not result.failures, spec.name


def test_the_listing_covers_every_function_once() -> None:
    assert sorted(FUNCTIONS) == sorted(f.name for f in functions())
    assert {"sha256", "iif", "decode", "get_url_port", "date_part", "uuid"} <= set(FUNCTIONS)
    assert {"lpad", "rpad", "left", "right", "get_url_query_str", "set_date_part"} <= set(FUNCTIONS)
    assert {(o.symbol, o.operands) for o in operators()} >= {("==", 2), ("!", 1), ("%", 2)}


def test_hashes_keep_nulls_and_hash_repeated_values_alike() -> None:
    emails = pa.array(["a@x.io", None, "a@x.io", "b@x.io"])
    values = _run("sha256(e)", e=emails).values.to_pylist()
    assert values[0] == values[2] != values[3] and values[1] is None
    latin = _run('md5(e, "ISO-8859-1")', e=pa.array(["é"])).values.to_pylist()
    assert latin == [hashlib.md5("é".encode("latin-1")).hexdigest()]
    assert latin != _run("md5(e)", e=pa.array(["é"])).values.to_pylist()


def test_uuids_are_random_version_4() -> None:
    values = _run("uuid()", x=pa.array(range(1000))).values.to_pylist()
    assert len(set(values)) == 1000
    pattern = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(v) for v in values)


def test_url_parts_of_text_that_is_no_url_are_null() -> None:
    urls = pa.array(["nope", None, "http://h:8080/a?q=1#f", "HTTPS://h/"])
    assert _run("get_url_host(u)", u=urls).values.to_pylist() == [None, None, "h", "h"]
    assert _run("get_url_port(u)", u=urls).values.to_pylist() == [None, None, 8080, 443]
    assert _run("get_url_path(u)", u=urls).values.to_pylist() == [None, None, "/a", "/"]


def test_date_parts_and_zones() -> None:
    moments = pa.array([dt.datetime(2021, 10, 26, 13, 43, 59, tzinfo=UTC), None])
    parts = {
        "yyyy": 2021,
        "q": 4,
        "dayofyear": 299,
        "d": 26,
        "week": 43,
        "dw": 2,
        "hh": 13,
        "hh12": 1,
        "mi": 43,
        "ss": 59,
        "ms": 0,
    }
    for component, expected in parts.items():
        assert _run(f'date_part("{component}", t)', t=moments).values.to_pylist() == [
            expected,
            None,
        ]
    paris = 'date_part("hh", zone_date_to_zone(t, "Europe/Paris"))'
    assert _run(paris, t=moments).values.to_pylist() == [15, None]
    back = _run('zone_date_to_utc(zone_date_to_zone(t, "Asia/Tokyo"))', t=moments)
    assert back.values.to_pylist()[0] == dt.datetime(2021, 10, 26, 13, 43, 59, tzinfo=UTC)


def test_date_default_replaces_null_and_unparseable_text() -> None:
    text = pa.array(["2020-01-02", None, "junk"])
    result = _run('date(s, "yyyy-MM-dd", date("1970-01-01", "yyyy-MM-dd"))', s=text)
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert result.values.to_pylist() == [dt.datetime(2020, 1, 2, tzinfo=UTC), epoch, epoch]
    assert _failed(result) == []
    assert _failed(_run('date(s, "yyyy-MM-dd")', s=text)) == [2]


def test_operators_follow_precedence_and_java_arithmetic() -> None:
    n = pa.array([7, -7, None, 0])
    assert _run("n + 2 * 3", n=n).values.to_pylist() == [13, -1, None, 6]
    assert _run("(n + 2) * 3", n=n).values.to_pylist() == [27, -15, None, 6]
    assert _run("n % 3", n=n).values.to_pylist() == [1, -1, None, 0]
    assert _run("n / 2", n=n).values.to_pylist() == [3.5, -3.5, None, 0.0]
    assert _run("n > 0 && n < 10 || n == 0", n=n).values.to_pylist() == [True, False, None, True]
    assert _run("not (n > 0)", n=n).values.to_pylist() == [False, True, None, True]
    assert _run('"a" + "b"').values.to_pylist() == ["ab"]


def test_arithmetic_faults_fail_their_rows_only() -> None:
    n = pa.array([1, 0, None, 2])
    result = _run("10 / n", n=n)
    assert result.values.to_pylist() == [10.0, None, None, 5.0] and _failed(result) == [1]
    assert "10 / 0" in result.failures[0].reason(1)
    big = pa.array([1, 9223372036854775807])
    overflow = _run("n + 1", n=big)
    assert overflow.values.to_pylist() == [2, None] and _failed(overflow) == [1]
    assert _failed(_run("n % n", n=n)) == [1]
    smallest = _run("n % -1", n=pa.array([-9223372036854775808]))
    assert smallest.values.to_pylist() == [0] and _failed(smallest) == []


def test_to_conversions_fail_rows_that_do_not_convert() -> None:
    result = _run("to_integer(s)", s=pa.array(["12", "x", None, "99999999999"]))
    assert result.values.to_pylist() == [12, None, None, None]
    assert _failed(result) == [1, 3]


def test_rounding() -> None:
    f = pa.array([2.5, -2.5, 2.4, None])
    assert _run("round(f)", f=f).values.to_pylist() == [3, -2, 2, None]
    assert _run("ceil(f)", f=f).values.to_pylist() == [3.0, -2.0, 3.0, None]
    assert _run("floor(f)", f=f).values.to_pylist() == [2.0, -3.0, 2.0, None]
    assert _run("abs(f)", f=f).values.to_pylist() == [2.5, 2.5, 2.4, None]
    assert _failed(_run("round(f)", f=pa.array([1e300]))) == [0]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("sha256(n)", "needs text"),
        ('iif(n, "a", "b")', "needs a boolean"),
        ("substr(s, n, 2)", "number literal"),
        ('split(s, "")', "non-empty SEPARATOR"),
        ('matches_regex(s, "[")', "bad regular expression"),
        ('n + "a"', "operator '\\+' needs a number"),
        ('n == "a"', "one kind"),
        ("!n", "needs a boolean"),
        ('zone_date_to_zone(s, "Mars/Olympus")', "unknown time zone"),
        ('get_url_path(s, "yes")', "true or false"),
        ("uuid(s)", "takes 0 arguments"),
    ],
)
def test_type_errors_at_validation(expression: str, message: str) -> None:
    schema = pa.schema([("s", pa.string()), ("n", pa.int32())])
    with pytest.raises(ExpressionTypeError, match=message):
        compile_expression(parse(expression), schema)


def test_join_skips_nulls() -> None:
    a = pa.array(["x", None, None])
    b = pa.array(["y", "z", None])
    assert _run('join(",", a, b)', a=a, b=b).values.to_pylist() == ["x,y", "z", None]


def test_url_parts_with_user_info_ipv6_and_queries() -> None:
    urls = pa.array(
        ["https://user:pw@h.com:8443/a/b?x#y", "http://[::1]:90/p", "http://h:99/x?y/z"]
    )
    assert _run("get_url_host(u)", u=urls).values.to_pylist() == ["h.com", "[::1]", "h"]
    assert _run("get_url_port(u)", u=urls).values.to_pylist() == [8443, 90, 99]
    assert _run("get_url_path(u)", u=urls).values.to_pylist() == ["/a/b", "/p", "/x"]


def test_a_call_written_in_two_mappings_runs_once_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowservice.mapping import MappingSet, functions_dates

    calls: list[int] = []
    real = functions_dates.parse_timestamps

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(functions_dates, "parse_timestamps", counting)
    parsed = 'to_timestamp(t, "dd/MM/yyyy HH:mm")'
    rules = [
        {"sourceAttribute": parsed, "destinationXdmPath": "at"},
        {"sourceAttribute": f'date_part("yyyy", {parsed})', "destinationXdmPath": "year"},
        {"sourceAttribute": "uuid()", "destinationXdmPath": "a"},
        {"sourceAttribute": "uuid()", "destinationXdmPath": "b"},
    ]
    batch = pa.record_batch({"t": pa.array(["01/02/2020 10:00", "31/02/2020 10:00"])})
    mapping = MappingSet.compile(rules, source=batch.schema)
    out = mapping.apply(batch)
    assert len(calls) == 1
    assert out.records.column("year").to_pylist() == [2020]
    assert [e.destination for e in out.errors] == ["at"] and out.failed_count == 1
    assert out.records.column("a").to_pylist() != out.records.column("b").to_pylist()


def test_date_part_functions_of_their_own() -> None:
    moments = pa.array([dt.datetime(2021, 10, 26, 13, 43, 59, tzinfo=UTC), None])
    expected = {"year": 2021, "month": 10, "day": 26, "hour": 13, "minute": 43, "second": 59}
    expected |= {"dayofweek": 2, "dayofyear": 299, "week": 43}
    for name, value in expected.items():
        assert _run(f"{name}(t)", t=moments).values.to_pylist() == [value, None], name
    assert _run('year("2020-05-01")').values.to_pylist() == [2020]


def test_listing_names_the_parameters() -> None:
    by_name = {f.name: f.wire() for f in functions()}
    assert by_name["substr"]["params"] == [
        {"name": "INPUT", "position": 1},
        {"name": "START_INDEX", "position": 2},
        {"name": "LENGTH", "position": 3},
    ]
    assert by_name["uuid"]["params"] == []
