"""Every SQL Server type round-trips exactly, with SQL Server's own conversion rules."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pytest
from engine_helpers import arrow, param, query, run, scalar, ticks

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession

D = decimal.Decimal

CASES = [
    ("bit", "1", True, pa.bool_()),
    ("tinyint", "255", 255, None),
    ("smallint", "-32768", -32768, None),
    ("int", "2147483647", 2147483647, None),
    ("bigint", "-9223372036854775808", -9223372036854775808, None),
    (
        "decimal(38,10)",
        "1234567890123456789012345678.0123456789",
        D("1234567890123456789012345678.0123456789"),
        pa.decimal128(38, 10),
    ),
    ("numeric(5,2)", "-123.45", D("-123.45"), pa.decimal128(5, 2)),
    ("money", "922337203685477.5807", D("922337203685477.5807"), pa.decimal128(19, 4)),
    ("smallmoney", "-214748.3648", D("-214748.3648"), pa.decimal128(10, 4)),
    ("real", "1.5", 1.5, pa.float32()),
    ("float", "2.2250738585072014E-308", 2.2250738585072014e-308, pa.float64()),
    ("char(5)", "'ab'", "ab   ", None),
    ("varchar(10)", "'hello'", "hello", None),
    ("varchar(max)", "REPLICATE(CAST('x' AS VARCHAR(MAX)), 10000)", "x" * 10000, None),
    ("nchar(3)", "N'é'", "é  ", None),
    ("nvarchar(4)", "N'a😀b'", "a😀b", None),
    ("nvarchar(max)", "N'Ωμέγα😀'", "Ωμέγα😀", None),
    ("binary(2)", "0x0102", b"\x01\x02", None),
    ("varbinary(8)", "0xDEADBEEF", b"\xde\xad\xbe\xef", None),
    ("varbinary(max)", "0x00FF", b"\x00\xff", None),
    ("date", "'0001-01-01'", dt.date(1, 1, 1), pa.date32()),
    ("time(7)", "'23:59:59.123456'", dt.time(23, 59, 59, 123456), pa.time64("ns")),
    ("time(0)", "'12:34:56.7'", dt.time(12, 34, 57), pa.time64("us")),
    ("time(3)", "'12:34:56.12345'", dt.time(12, 34, 56, 123000), pa.time64("us")),
    (
        "datetime2(7)",
        "'9999-12-31 23:59:59.9999999'",
        3_155_378_975_999_999_999,  # 100 ns ticks since 0001-01-01, see the contract
        pa.uint64(),
    ),
    (
        "datetime2(2)",
        "'2024-05-06 07:08:09.125'",
        dt.datetime(2024, 5, 6, 7, 8, 9, 130000),
        pa.timestamp("us"),
    ),
    ("datetime", "'2024-01-01 10:00:00.001'", dt.datetime(2024, 1, 1, 10, 0, 0, 0), None),
    ("datetime", "'2024-01-01 10:00:00.002'", dt.datetime(2024, 1, 1, 10, 0, 0, 3000), None),
    ("datetime", "'2024-01-01 10:00:00.005'", dt.datetime(2024, 1, 1, 10, 0, 0, 7000), None),
    ("datetime", "'2024-01-01 23:59:59.999'", dt.datetime(2024, 1, 2, 0, 0, 0), None),
    ("smalldatetime", "'2024-01-01 10:00:29.998'", dt.datetime(2024, 1, 1, 10, 0), None),
    ("smalldatetime", "'2024-01-01 10:00:30'", dt.datetime(2024, 1, 1, 10, 1), None),
    (
        "uniqueidentifier",
        "'6F9619FF-8B86-D011-B42D-00C04FC964FF'",
        "6f9619ff-8b86-d011-b42d-00c04fc964ff",
        pa.string(),
    ),
]


@pytest.mark.parametrize(("type_text", "literal", "expected", "arrow_type"), CASES)
def test_type_round_trips(
    session: DuckDBSession,
    type_text: str,
    literal: str,
    expected: object,
    arrow_type: pa.DataType | None,
) -> None:
    run(session, f"CREATE TABLE t (v {type_text} NULL)")
    run(session, f"INSERT INTO t (v) VALUES ({literal}), (NULL)")
    columns, rows = query(session, "SELECT v FROM t")
    assert str(columns[0].type) == type_text.replace("numeric", "numeric")
    value = rows[0][0]
    if isinstance(expected, str) and type_text == "uniqueidentifier":
        value = value.lower()
    assert value == expected
    assert rows[1][0] is None
    if arrow_type is not None:
        assert arrow(session, "SELECT v FROM t").schema.field("v").type == arrow_type


def test_datetimeoffset_keeps_offset(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE o (v DATETIMEOFFSET(3))")
    run(
        session,
        "INSERT INTO o VALUES ('2024-03-01 10:00:00.1234 +05:30'), ('2024-03-01 10:00:00 -08:00')",
    )
    table = arrow(session, "SELECT v FROM o")
    assert table.schema.field("v").type == pa.struct([("utc", pa.int64()), ("offset", pa.int16())])
    assert table.column("v").to_pylist() == [
        {"utc": ticks(dt.datetime(2024, 3, 1, 4, 30, 0, 123000)), "offset": 330},
        {"utc": ticks(dt.datetime(2024, 3, 1, 18, 0)), "offset": -480},
    ]


def test_parameters_of_every_kind_round_trip(session: DuckDBSession) -> None:
    run(
        session,
        "CREATE TABLE p (i INT, d DECIMAL(10,3), s NVARCHAR(20), b VARBINARY(4), "
        "dt DATETIME2(6), tm TIME(6), dto DATETIMEOFFSET(6), u UNIQUEIDENTIFIER, "
        "f FLOAT, bt BIT, da DATE)",
    )
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    values = [
        param("@P1", "int", 7),
        param("@P2", "decimal(10,3)", D("1.234")),
        param("@P3", "nvarchar(20)", "日本😀"),
        param("@P4", "varbinary(4)", b"\x00\x01"),
        param("@P5", "datetime2(6)", dt.datetime(2024, 1, 2, 3, 4, 5, 678901)),
        param("@P6", "time(6)", dt.time(1, 2, 3, 456789)),
        param("@P7", "datetimeoffset(6)", aware),
        param("@P8", "uniqueidentifier", uid),
        param("@P9", "float", 0.1),
        param("@P10", "bit", True),
        param("@P11", "date", dt.date(2000, 2, 29)),
    ]
    run(
        session,
        "INSERT INTO p VALUES (@P1, @P2, @P3, @P4, @P5, @P6, @P7, @P8, @P9, @P10, @P11)",
        values,
    )
    _, rows = query(session, "SELECT * FROM p")
    assert rows[0][:6] == (
        7,
        D("1.234"),
        "日本😀",
        b"\x00\x01",
        dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
        dt.time(1, 2, 3, 456789),
    )
    assert rows[0][6] == {"utc": ticks(dt.datetime(2024, 1, 2, 6, 4, 5, 678901)), "offset": -180}
    assert uuid.UUID(rows[0][7]) == uid
    assert rows[0][8:] == (0.1, True, dt.date(2000, 2, 29))


@pytest.mark.parametrize(
    ("type_text", "literal"),
    [
        ("varchar(3)", "'abcd'"),
        ("nvarchar(2)", "N'a😀'"),
        ("char(2)", "'abc'"),
        ("varbinary(1)", "0x0102"),
    ],
)
def test_too_long_values_raise_2628(session: DuckDBSession, type_text: str, literal: str) -> None:
    run(session, f"CREATE TABLE s (v {type_text})")
    with pytest.raises(SqlError) as err:
        run(session, f"INSERT INTO s VALUES ({literal})")
    assert err.value.number == 2628
    assert err.value.message.startswith(
        "String or binary data would be truncated in table 'testdb.dbo.s', column 'v'."
    )
    assert scalar(session, "SELECT COUNT(*) FROM s") == 0


def test_update_too_long_raises_2628(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE s (v VARCHAR(3))")
    run(session, "INSERT INTO s VALUES ('abc')")
    with pytest.raises(SqlError) as err:
        run(session, "UPDATE s SET v = v + 'x'")
    assert err.value.number == 2628


def test_cast_to_short_string_truncates_silently(session: DuckDBSession) -> None:
    assert scalar(session, "SELECT CAST('abcdef' AS VARCHAR(3))") == "abc"


@pytest.mark.parametrize(
    ("type_text", "kind", "expected"),
    [
        ("varchar", "varchar", 30),
        ("binary", "binary", 30),
        ("text", "varchar", -1),
        ("image", "varbinary", -1),
        ("varchar(max)", "varchar", -1),
    ],
)
def test_cast_without_a_length_takes_30_except_for_large_types(
    session: DuckDBSession, type_text: str, kind: str, expected: int
) -> None:
    columns, rows = query(session, f"SELECT CAST('{'x' * 40}' AS {type_text})")
    assert (columns[0].type.name, columns[0].type.length) == (kind, expected)
    assert len(rows[0][0]) == (30 if expected == 30 else 40)


@pytest.mark.parametrize(
    ("type_text", "literal", "number"),
    [
        ("tinyint", "256", 220),
        ("smallint", "40000", 220),
        ("int", "'12x'", 245),
        ("decimal(4,2)", "123.45", 8115),
        ("datetime", "'1700-01-01'", 242),
        ("int", "'1.5'", 245),
    ],
)
def test_range_and_conversion_errors(
    session: DuckDBSession, type_text: str, literal: str, number: int
) -> None:
    run(session, f"CREATE TABLE r (v {type_text})")
    with pytest.raises(SqlError) as err:
        run(session, f"INSERT INTO r VALUES ({literal})")
    assert err.value.number == number


def test_arithmetic_overflow_is_8115(session: DuckDBSession) -> None:
    with pytest.raises(SqlError) as err:
        run(session, "SELECT CAST(2147483647 AS INT) + 1")
    assert err.value.number == 8115
    assert err.value.message == "Arithmetic overflow error converting expression to data type int."


def test_decimal_to_int_truncates_like_sql_server(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE n (v INT)")
    run(session, "INSERT INTO n SELECT CAST(2.9 AS DECIMAL(3,1))")
    assert scalar(session, "SELECT v FROM n") == 2


def test_datetimeoffset_in_expressions_uses_instant_and_offset(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE w (id INT, v DATETIMEOFFSET(6))")
    run(
        session,
        "INSERT INTO w VALUES (1, '2024-01-01 10:00:00 +02:00'), "
        "(2, '2024-01-01 09:30:00 +00:00'), (3, NULL)",
    )
    _, rows = query(
        session,
        "SELECT id, DATEPART(TZOFFSET, v), DATEPART(hour, v) FROM w WHERE v >= @P1 ORDER BY v",
        [param("@P1", "datetimeoffset(6)", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC))],
    )
    assert rows == [(1, 120, 10), (2, 0, 9)]
    assert scalar(session, "SELECT id FROM w WHERE v = '2024-01-01 08:00:00 +00:00'") == 1


def test_computed_columns_have_contract_arrow_types(session: DuckDBSession) -> None:
    table = arrow(
        session,
        "SELECT NULL AS n, SUM(CAST(1 AS INT)) AS s, COUNT(*) AS c, "
        "CAST(NULL AS DATETIME2) AS d, CURRENT_TIMESTAMP AS ts",
    )
    assert table.schema.types == [
        pa.string(),
        pa.int64(),
        pa.int64(),
        pa.uint64(),  # datetime2(7) ticks
        pa.timestamp("us"),
    ]


@pytest.mark.parametrize(
    ("literal", "target", "expected"),
    [
        ("2005", "datetime", dt.datetime(2005, 1, 1)),
        ("20240131", "date", dt.date(2024, 1, 31)),
        ("20240131 10:11:12", "datetime2(0)", dt.datetime(2024, 1, 31, 10, 11, 12)),
        ("2024-02-29", "smalldatetime", dt.datetime(2024, 2, 29)),
    ],
)
def test_unseparated_date_literals(
    session: DuckDBSession, literal: str, target: str, expected: object
) -> None:
    assert scalar(session, f"SELECT CAST('{literal}' AS {target})") == expected
    run(session, f"CREATE TABLE lit (v {target})")
    run(session, f"INSERT INTO lit VALUES ('{literal}')")
    assert scalar(session, "SELECT v FROM lit") == expected


def test_nocount_hides_row_counts_but_keeps_rowcount(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE nc (x int)")
    run(session, "SET NOCOUNT ON")
    results = list(session.execute("INSERT INTO nc VALUES (1), (2)"))
    assert results[0].rowcount is None
    assert scalar(session, "SELECT @@ROWCOUNT") == 2
    run(session, "SET NOCOUNT OFF")
    results = list(session.execute("INSERT INTO nc VALUES (3)"))
    assert results[0].rowcount == 1


def test_nocount_set_in_a_procedure_ends_with_it(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE nc (x int)")
    run(session, "CREATE PROCEDURE quiet AS BEGIN SET NOCOUNT ON; INSERT INTO nc VALUES (1) END")
    run(session, "EXEC quiet")
    results = list(session.execute("INSERT INTO nc VALUES (2)"))
    assert results[0].rowcount == 1


@pytest.mark.parametrize("digits", [19, 20, 26, 38])
def test_integer_literal_beyond_bigint_is_numeric(session: DuckDBSession, digits: int) -> None:
    value = 10**digits - 7
    columns, rows = query(session, f"SELECT {value}, -{value}, CAST({value} AS decimal(38,0)) + 1")
    assert (columns[0].type.name, columns[0].type.precision, columns[0].type.scale) == (
        "decimal",
        digits,
        0,
    )
    assert rows == [(decimal.Decimal(value), decimal.Decimal(-value), decimal.Decimal(value + 1))]


def test_integer_literal_of_39_digits_is_out_of_range(session: DuckDBSession) -> None:
    with pytest.raises(SqlError) as raised:
        query(session, f"SELECT {10**38}")
    assert raised.value.number == 1007


def test_binary_to_string_reads_the_bytes_in_the_strings_encoding(session: DuckDBSession) -> None:
    """varchar bytes are code page 1252 (its five undefined bytes kept), nvarchar's UTF-16LE."""
    _, rows = query(
        session,
        "SELECT CAST(0xE94180 AS varchar(10)), CAST(0x81909D AS varchar(3)), "
        "CAST(0xE90041004200 AS nvarchar(10)), CONVERT(nvarchar(5), 0x4100), "
        "CAST(0x41 AS nvarchar(5))",
    )
    assert rows == [("éA€", "\x81\x90\x9d", "éAB", "A", "")]


def test_string_to_binary_takes_the_strings_own_bytes(session: DuckDBSession) -> None:
    """nchar/nvarchar give UTF-16LE, char/varchar code page 1252; and back again."""
    run(session, "CREATE TABLE enc (v varchar(10), n nvarchar(10)); INSERT enc VALUES ('é€', N'é')")
    _, rows = query(
        session,
        "DECLARE @w nvarchar(5) = N'ab'; DECLARE @x xml = N'<a/>'; "
        "SELECT CAST(N'é' AS varbinary(10)), CAST('é' AS varbinary(10)), "
        "CAST(v AS varbinary(10)), CONVERT(varbinary(10), n), CAST(@w AS varbinary(10)), "
        "CAST(CAST(N'é' AS varbinary(10)) AS nvarchar(10)), "
        "CAST(CAST(v AS binary(2)) AS varchar(5)), CAST(@x AS varbinary(8)) FROM enc",
    )
    assert rows == [
        (
            b"\xe9\x00",
            b"\xe9",
            b"\xe9\x80",
            b"\xe9\x00",
            b"a\x00b\x00",
            "é",
            "é€",
            b"<\x00a\x00/\x00>\x00",
        )
    ]
