"""sql_variant (TDS 0x62): values keep their base type on the wire, in parameters and properties."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from typing import Any

import pytds
import pytest
from drivers import DRIVERS, Driver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.contract import SqlType
from mssql_emulator.tds.params import read_typed_value
from mssql_emulator.tds.reader import ByteReader
from mssql_emulator.testing import RunningEmulator

D = decimal.Decimal
GUID = uuid.UUID("cf4314b6-afd8-4ce7-9f23-702e73f6116f")
COLLATION = bytes.fromhex("0904d00034")

# (expression cast to sql_variant, value read back, SQL_VARIANT_PROPERTY BaseType, Precision,
# Scale, MaxLength) as SQL Server documents them.
CASES: list[tuple[str, Any, str, int, int, int]] = [
    ("cast(128 as tinyint)", 128, "tinyint", 3, 0, 1),
    ("cast(-32000 as smallint)", -32000, "smallint", 5, 0, 2),
    ("cast(2000000000 as int)", 2000000000, "int", 10, 0, 4),
    ("cast(2000000000000 as bigint)", 2000000000000, "bigint", 19, 0, 8),
    ("cast(1 as bit)", True, "bit", 1, 0, 1),
    ("cast(0.25 as real)", 0.25, "real", 24, 0, 4),
    ("cast(0.12345 as float)", 0.12345, "float", 53, 0, 8),
    ("cast(100.55555 as decimal(8,5))", D("100.55555"), "decimal", 8, 5, 5),
    ("cast(-1.5 as decimal(20,2))", D("-1.50"), "decimal", 20, 2, 13),
    ("cast('922,337,203,685,477.5807' as money)", D("922337203685477.5807"), "money", 19, 4, 8),
    ("cast('- 214,748.3648' as smallmoney)", D("-214748.3648"), "smallmoney", 10, 4, 4),
    ("cast('2011-02-03' as date)", dt.date(2011, 2, 3), "date", 10, 0, 3),
    ("cast('10:11:12.5' as time(3))", dt.time(10, 11, 12, 500000), "time", 12, 3, 4),
    (
        "cast('2011-02-03T10:11:12.003' as datetime)",
        dt.datetime(2011, 2, 3, 10, 11, 12, 3000),
        "datetime",
        23,
        3,
        8,
    ),
    (
        "cast('2011-02-03T10:11:00' as smalldatetime)",
        dt.datetime(2011, 2, 3, 10, 11),
        "smalldatetime",
        16,
        0,
        4,
    ),
    (
        "cast('2011-02-03T10:11:12.25' as datetime2(2))",
        dt.datetime(2011, 2, 3, 10, 11, 12, 250000),
        "datetime2",
        22,
        2,
        6,
    ),
    ("cast('test' as varchar(10))", "test", "varchar", 0, 0, 10),
    ("cast('test' as char(5))", "test ", "char", 0, 0, 5),
    ("cast(N'Iñtërnâtiôn' as nvarchar(20))", "Iñtërnâtiôn", "nvarchar", 0, 0, 40),
    ("cast(N'ab' as nchar(3))", "ab ", "nchar", 0, 0, 6),
    ("cast(0x0102 as varbinary(4))", b"\x01\x02", "varbinary", 0, 0, 4),
    ("cast(0x0102 as binary(3))", b"\x01\x02\x00", "binary", 0, 0, 3),
    (f"cast('{GUID}' as uniqueidentifier)", GUID, "uniqueidentifier", 0, 0, 16),
]
READERS = [d for d in DRIVERS if d.name in ("pytds", "mssql-python", "mssql-python-tls")]


def _scalar(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    cur.execute(sql)
    row = cur.fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("driver", READERS, ids=lambda d: d.name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[2])
def test_value_reads_back_with_its_base_type(
    emulator: RunningEmulator, driver: Driver, case: tuple[str, Any, str, int, int, int]
) -> None:
    expression, expected = case[0], case[1]
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT CAST({expression} AS sql_variant), CONVERT(sql_variant, {expression})")
        got = cur.fetchall()
        assert [tuple(r) for r in got] == [(expected, expected)]
        assert type(got[0][0]) is type(expected)
        if driver.name == "pytds":
            assert cur.description[0][1] == 98  # SYBVARIANT
    finally:
        conn.close()


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[2])
def test_sql_variant_property(
    emulator: RunningEmulator, driver: Driver, case: tuple[str, Any, str, int, int, int]
) -> None:
    expression, _, base, precision, scale, max_length = case
    if base == "real":
        base, precision, max_length = "float", 53, 8  # the engine computes CAST(x AS real) as float
    props = ", ".join(
        f"CAST(SQL_VARIANT_PROPERTY(CAST({expression} AS sql_variant), '{p}') AS nvarchar(128))"
        for p in ("BaseType", "Precision", "Scale", "MaxLength")
    )
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT {props}")
        row = cur.fetchone()
        assert tuple(row) == (base, str(precision), str(scale), str(max_length))
    finally:
        conn.close()


def test_null_and_untyped_literals(emulator: RunningEmulator) -> None:
    conn = DRIVERS[0].connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT CAST(NULL AS sql_variant), CAST(CAST(NULL AS int) AS sql_variant), "
            "CAST(7 AS sql_variant), CAST('abc' AS sql_variant), CAST(N'xy' AS sql_variant), "
            "SQL_VARIANT_PROPERTY(CAST(7 AS sql_variant), 'BaseType'), "
            "SQL_VARIANT_PROPERTY(CAST('abc' AS sql_variant), 'BaseType'), "
            "SQL_VARIANT_PROPERTY(CAST('abc' AS sql_variant), 'MaxLength'), "
            "SQL_VARIANT_PROPERTY(CAST(NULL AS sql_variant), 'BaseType')"
        )
        assert cur.fetchall() == [(None, None, 7, "abc", "xy", "int", "varchar", 3, None)]
    finally:
        conn.close()


def test_null_parameter_declared_sql_variant(emulator: RunningEmulator) -> None:
    conn = DRIVERS[0].connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute("SET NOCOUNT ON; DECLARE @x sql_variant = %s; SELECT @x", (None,))
        assert cur.fetchall() == [(None,)]
    finally:
        conn.close()


def test_table_column_and_bulk_load(emulator: RunningEmulator) -> None:
    table = f"variant_{uuid.uuid4().hex[:8]}"
    conn = DRIVERS[0].connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (id int, v sql_variant)")
        cur.execute(f"INSERT INTO {table} VALUES (1, CAST(N'text' AS sql_variant)), (2, NULL)")
        cur.execute(f"SELECT id, v FROM {table} ORDER BY id")
        assert cur.fetchall() == [(1, "text"), (2, None)]
        assert cur.description[1][1] == 98
        col = pytds.Column(name="v", type=pytds.tds_types.VariantType(), flags=1)
        cur.copy_to(data=[[None]], table_or_view=table, columns=[col])
        cur.execute(f"SELECT count(*) FROM {table} WHERE v IS NULL")
        assert cur.fetchall() == [(2,)]
        cur.execute("SELECT max_length FROM sys.columns WHERE name = 'v'")
        assert (8016,) in cur.fetchall()
    finally:
        conn.close()


def test_freetds_clients_receive_the_base_value_bytes(emulator: RunningEmulator) -> None:
    # FreeTDS' DB-Library hands a sql_variant over as the bytes of its base-type value.
    pymssql_driver = next(d for d in DRIVERS if d.name == "pymssql")
    conn = pymssql_driver.connect(emulator)
    try:
        assert _scalar(conn, "SELECT CAST(CAST(7 AS int) AS sql_variant)") == b"\x07\x00\x00\x00"
        assert _scalar(conn, "SELECT CAST(CAST('ab' AS varchar(5)) AS sql_variant)") == b"ab"
        assert _scalar(conn, "SELECT CAST(NULL AS sql_variant)") is None
    finally:
        conn.close()


def test_max_types_cannot_be_a_base_type_but_the_connection_stays(
    emulator: RunningEmulator,
) -> None:
    conn = DRIVERS[0].connect(emulator)
    try:
        value = _scalar(conn, "SELECT CAST(CAST('abc' AS varchar(max)) AS sql_variant)")
        assert value == "abc"  # sent as varchar(8000), the longest a sql_variant holds
        with pytest.raises(pytds.OperationalError, match="would be truncated"):
            _scalar(conn, "SELECT CAST(REPLICATE(CAST('a' AS varchar(max)), 9000) AS sql_variant)")
        assert _scalar(conn, "SELECT 1") == 1
    finally:
        conn.close()


def _variant_param(base: int, props: bytes, value: bytes) -> bytes:
    body = bytes([base, len(props)]) + props + value
    return b"\x62" + struct.pack("<I", 8016) + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("raw", "sql_type", "value"),
    [
        (b"\x62" + struct.pack("<II", 8016, 0), SqlType("sql_variant"), None),
        (_variant_param(0x38, b"", struct.pack("<i", -5)), SqlType("int"), -5),
        (_variant_param(0x32, b"", b"\x01"), SqlType("bit"), True),
        (
            _variant_param(0x6A, bytes([8, 5]), b"\x01" + (10055555).to_bytes(4, "little")),
            SqlType("decimal", precision=8, scale=5),
            D("100.55555"),
        ),
        (
            _variant_param(0xE7, COLLATION + struct.pack("<H", 20), "hé".encode("utf-16-le")),
            SqlType("nvarchar", length=10),
            "hé",
        ),
        (
            _variant_param(0xA5, struct.pack("<H", 8), b"\x00\x01"),
            SqlType("varbinary", length=8),
            b"\x00\x01",
        ),
        (_variant_param(0x24, b"", GUID.bytes_le), SqlType("uniqueidentifier"), GUID),
        (
            _variant_param(0x28, b"", (734170).to_bytes(3, "little")),
            SqlType("date"),
            dt.date(2011, 2, 3),
        ),
    ],
)
def test_rpc_parameter_decoding(raw: bytes, sql_type: SqlType, value: Any) -> None:
    assert read_typed_value(ByteReader(raw)) == (sql_type, value)


_BASES = st.one_of(
    st.integers(0, 255).map(lambda v: (f"CAST({v} AS tinyint)", v)),
    st.integers(-(2**31), 2**31 - 1).map(lambda v: (f"CAST({v} AS int)", v)),
    st.integers(-(2**63) + 1, 2**63 - 1).map(lambda v: (f"CAST({v} AS bigint)", v)),
    st.decimals(-(10**9) + 1, 10**9 - 1, places=3).map(
        lambda v: (f"CAST({v} AS decimal(12,3))", v.quantize(D("0.001")))
    ),
    st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="'"), max_size=20
    ).map(lambda v: (f"CAST('{v}' AS varchar(20))", v)),
    st.text(st.characters(min_codepoint=0xA0, max_codepoint=0x7FF), min_size=1, max_size=10).map(
        lambda v: (f"CAST(N'{v}' AS nvarchar(10))", v)
    ),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(lambda v: (f"CAST('{v}' AS date)", v)),
    st.binary(min_size=1, max_size=16).map(lambda v: (f"CAST(0x{v.hex()} AS varbinary(16))", v)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(_BASES, min_size=1, max_size=6))
def test_random_base_types_round_trip(
    emulator: RunningEmulator, cells: list[tuple[str, Any]]
) -> None:
    conn = DRIVERS[0].connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute("SELECT " + ", ".join(f"CAST({sql} AS sql_variant)" for sql, _ in cells))
        assert cur.fetchall() == [tuple(v for _, v in cells)]
    finally:
        conn.close()
