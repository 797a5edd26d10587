"""The PostgreSQL connector against a real server: explore, describe, preview, reads, splits.

Each module run gets its own database ``flowservice_src_<random>`` on the server of
``FLOWSERVICE_TEST_POSTGRES_URL`` (``.ci/start-postgres.sh``), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pyarrow as pa
import pytest

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.postgresql.connector import PostgresConnector
from flowservice.errors import InvalidRequest, NotFound, SourceConfigError

POSTGRES_ENV = "FLOWSERVICE_TEST_POSTGRES_URL"

SCHEMA_SQL = """
CREATE SCHEMA sales;
CREATE SCHEMA "Odd.Schema";
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN price AS numeric(12,3);
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TABLE sales.orders (
  id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(10,2),
  placed timestamptz NOT NULL, local_placed timestamp, day date
);
CREATE TABLE sales.lines (order_id bigint, line int, qty positive, PRIMARY KEY (order_id, line));
CREATE VIEW sales.big_orders AS SELECT id, amount FROM sales.orders WHERE amount > 100;
CREATE MATERIALIZED VIEW sales.order_days AS
  SELECT day, count(*) AS n FROM sales.orders GROUP BY day;
CREATE TABLE sales.events (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at))
  PARTITION BY RANGE (at);
CREATE TABLE sales.events_2023 PARTITION OF sales.events
  FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE sales.events_2024 PARTITION OF sales.events
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.nokey (a text);
CREATE TABLE public.gappy (id int PRIMARY KEY, v text);
"""

ODD_TABLE = 'CREATE TABLE "Odd.Schema"."Mixed ""Case""" ("Key" int PRIMARY KEY, "Value" text)'

TYPES_SQL = """
CREATE TABLE public.types (
  id int PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
  n10 numeric(10,2), n38 numeric(38,10), n50 numeric(50,5), nu numeric, m money,
  t text, vc varchar(10), c char(4), u uuid, j json, jb jsonb, ia int[], ta text[], by bytea,
  e mood, dp price, dpos positive, d date, ts timestamp, tz timestamptz, tm time, ttz timetz,
  iv interval, ip inet
);
INSERT INTO public.types VALUES
(1, true, -32768, -2147483648, -9223372036854775808, 1.5, 2.5e300,
 -12345678.91, 1234567890123456789012345678.0123456789,
 123456789012345678901234567890123456789012345.12345, 0.000000000000000000000000000000000001,
 1234.56, 'héllo ✓', 'short', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1,  "a": [1]}',
 '{"b": 1, "a": [1.10]}', '{1,NULL,3}', '{"x,y",NULL,"\\"q\\""}', '\\x00ff10', 'sad', 123456789.123,
 7, '0001-01-01', '1900-02-28 23:59:59.999999', '2262-04-12 00:00:00.000001+00', '23:59:59.999999',
 '12:00:00+05:30', '1 year 2 months 3 days 04:05:06.789', '192.168.0.1/24'),
(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(3, false, 32767, 2147483647, 9223372036854775807, 'NaN', '-Infinity',
 99999999.99, -9999999999999999999999999999.9999999999, -1, 'NaN', -0.01,
 '', '', '', '00000000-0000-0000-0000-000000000000', '[]', '{}', '{}', '{}', '\\x', 'happy',
 -0.001, 1, '9999-12-31', '1970-01-01 00:00:00', '1677-09-21 00:12:43.145224+00', '00:00:00',
 '00:00:00-12', '-1 mons -00:00:00.000001', '::1');
"""


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh database with the tables above; its admin URL's credentials; dropped after."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.fail(f"{POSTGRES_ENV} is not set: start a server with .ci/start-postgres.sh")
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"flowservice_src_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL)  # type: ignore[arg-type]
            conn.execute(ODD_TABLE)  # type: ignore[arg-type]
            conn.execute(TYPES_SQL)  # type: ignore[arg-type]
            _fill(conn)
            conn.execute("REFRESH MATERIALIZED VIEW sales.order_days")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


BASE = datetime(2024, 1, 1, tzinfo=UTC)
ORDERS = 5000


def _fill(conn: psycopg.Connection[Any]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO sales.orders VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (
                    i,
                    f"customer {i % 97}",
                    Decimal(i * 37 % 100000) / 100,
                    BASE + timedelta(minutes=i),
                    (BASE + timedelta(minutes=i)).replace(tzinfo=None),
                    (BASE + timedelta(minutes=i)).date(),
                )
                for i in range(1, ORDERS + 1)
            ],
        )
        cur.executemany(
            "INSERT INTO sales.events VALUES (%s, %s)",
            [(i, datetime(2023 + i % 2, 6, 1, tzinfo=UTC)) for i in range(10)],
        )
        gappy = [-1000, -3, 0, 1, 2, 50, 51, 999, 10_000, 2**31 - 1]
        cur.executemany("INSERT INTO public.gappy VALUES (%s, %s)", [(k, str(k)) for k in gappy])


def connection_string(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    text = (
        f"Server={parts.hostname};Database={parts.path.lstrip('/')};Port={parts.port};"
        f"UID={parts.username};Password='{parts.password}'"
    )
    return text + "".join(f";{k}={v}" for k, v in extra.items())


@pytest.fixture(scope="module")
def connector(database: str) -> PostgresConnector:
    return PostgresConnector({"connectionString": connection_string(database)})


def _read_all(connector: PostgresConnector, table: str, **kwargs: Any) -> pa.Table:
    batches = list(connector.read(table, **kwargs))
    if batches:
        return pa.Table.from_batches(batches)
    columns = connector.describe(table).columns
    wanted = kwargs.get("columns") or [c.name for c in columns]
    types = {c.name: c.arrow_type for c in columns}
    return pa.schema([(name, types[name]) for name in wanted]).empty_table()


# --- explore -------------------------------------------------------------------------------


def test_check_succeeds(connector: PostgresConnector) -> None:
    assert connector.check().ok


def test_list_objects_has_tables_views_and_each_partitioned_table_once(
    connector: PostgresConnector,
) -> None:
    found = {(o.name, o.type) for o in connector.list_objects()}
    assert found == {
        ('Odd.Schema.Mixed "Case"', "table"),
        ("public.gappy", "table"),
        ("public.nokey", "table"),
        ("public.types", "table"),
        ("sales.big_orders", "view"),
        ("sales.events", "table"),
        ("sales.lines", "table"),
        ("sales.order_days", "view"),
        ("sales.orders", "table"),
    }
    names = [o.name for o in connector.list_objects()]
    assert names == sorted(names, key=lambda n: tuple(n.split(".", 1)) if n[0] != "O" else ("",))
    assert [o.name for o in connector.list_objects(start=2, limit=3)] == names[2:5]
    assert connector.list_objects(start=100) == []


def test_describe_columns_keys_and_nullability(connector: PostgresConnector) -> None:
    orders = connector.describe("sales.orders")
    by_name = {c.name: c for c in orders.columns}
    assert [c.name for c in orders.columns] == [
        "id",
        "customer",
        "amount",
        "placed",
        "local_placed",
        "day",
    ]
    assert orders.primary_key == ["id"]
    assert by_name["amount"].original_type == "numeric(10,2)"
    assert by_name["amount"].arrow_type == pa.decimal128(10, 2)
    assert by_name["placed"].arrow_type == pa.timestamp("us", tz="UTC")
    assert by_name["customer"].nullable is False and by_name["amount"].nullable is True
    lines = connector.describe("sales.lines")
    assert lines.primary_key == ["order_id", "line"]
    qty = next(c for c in lines.columns if c.name == "qty")
    assert (qty.original_type, qty.arrow_type, qty.xdm_type) == ("positive", pa.int32(), "integer")
    assert connector.describe("sales.big_orders").primary_key == []
    assert connector.describe("sales.events").primary_key == ["id", "at"]


def test_names_resolve_quoted_dotted_and_case_insensitively(connector: PostgresConnector) -> None:
    assert connector.describe('Odd.Schema.Mixed "Case"').primary_key == ["Key"]
    assert connector.describe('"Odd.Schema"."Mixed ""Case"""').name == 'Odd.Schema.Mixed "Case"'
    assert connector.describe("SALES.Orders").name == "sales.orders"
    assert connector.describe("nokey").name == "public.nokey"
    with pytest.raises(NotFound):
        connector.describe("sales.nothing")
    with pytest.raises(NotFound):
        connector.describe("pg_catalog.pg_class")


def test_preview_is_json_ready_in_key_order(connector: PostgresConnector) -> None:
    schema, rows = connector.preview("sales.orders", count=3)
    assert schema.name == "sales.orders"
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0] == {
        "id": 1,
        "customer": "customer 1",
        "amount": "0.37",
        "placed": "2024-01-01T00:01:00+00:00",
        "local_placed": "2024-01-01T00:01:00",
        "day": "2024-01-01",
    }
    _, partitioned = connector.preview("sales.events", count=100)
    assert len(partitioned) == 10
    _, view = connector.preview("sales.order_days", count=1000)
    assert sum(r["n"] for r in view) == ORDERS


# --- reads ---------------------------------------------------------------------------------


def test_full_read_equals_the_source(connector: PostgresConnector, database: str) -> None:
    batches = list(connector.read("sales.orders", batch_rows=1000))
    assert [b.num_rows for b in batches] == [1000] * 5
    table = pa.Table.from_batches(batches).sort_by("id")
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT * FROM sales.orders ORDER BY id").fetchall()
    assert table.num_rows == len(rows) == ORDERS
    expected = {name: [r[i] for r in rows] for i, name in enumerate(table.column_names)}
    assert table.column("id").to_pylist() == expected["id"]
    assert table.column("amount").to_pylist() == expected["amount"]
    assert table.column("placed").to_pylist() == expected["placed"]
    assert table.column("local_placed").to_pylist() == expected["local_placed"]
    assert table.column("day").to_pylist() == expected["day"]
    assert table.column("customer").to_pylist() == expected["customer"]


def test_column_subset_in_the_order_asked(connector: PostgresConnector) -> None:
    table = _read_all(connector, "sales.orders", columns=["day", "ID"])
    assert table.column_names == ["day", "id"]
    assert table.schema.field("day").type == pa.date32()
    with pytest.raises(SourceConfigError):
        list(connector.read("sales.orders", columns=["nope"]))


def test_partitioned_table_and_views_read(connector: PostgresConnector) -> None:
    assert _read_all(connector, "sales.events").num_rows == 10
    assert _read_all(connector, "sales.big_orders").num_rows > 0
    assert _read_all(connector, "sales.order_days").num_rows > 0


@pytest.mark.parametrize("column", ["placed", "local_placed"])
def test_windows_are_half_open(connector: PostgresConnector, column: str) -> None:
    start, end = BASE + timedelta(minutes=10), BASE + timedelta(minutes=20)
    table = _read_all(connector, "sales.orders", window=ReadWindow(column, start, end))
    assert sorted(table.column("id").to_pylist()) == list(range(10, 20))
    naive = _read_all(
        connector,
        "sales.orders",
        window=ReadWindow(column, start.replace(tzinfo=None), end.replace(tzinfo=None)),
    )
    assert naive.num_rows == 10
    open_start = _read_all(connector, "sales.orders", window=ReadWindow(column, None, start))
    open_end = _read_all(connector, "sales.orders", window=ReadWindow(column, start, None))
    assert open_start.num_rows + open_end.num_rows == ORDERS


def test_date_window_and_bad_window_columns(connector: PostgresConnector) -> None:
    window = ReadWindow("day", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))
    days = _read_all(connector, "sales.orders", window=window).column("day").to_pylist()
    assert set(days) == {date(2024, 1, 2)} and len(days) == 1440
    with pytest.raises(SourceConfigError, match="date or time"):
        list(connector.read("sales.orders", window=ReadWindow("customer", BASE)))


def test_splits_cover_every_key_exactly_once(connector: PostgresConnector) -> None:
    for table, parts in (("sales.orders", 7), ("public.gappy", 3)):
        ranges = connector.split(table, parts=parts)
        assert len(ranges) == parts
        seen: list[int] = []
        for key_range in ranges:
            assert key_range is not None
            seen.extend(_read_all(connector, table, key_range=key_range).column("id").to_pylist())
        everything = _read_all(connector, table).column("id").to_pylist()
        assert sorted(seen) == sorted(everything)


def test_split_within_a_window_and_unsplittable_tables(connector: PostgresConnector) -> None:
    window = ReadWindow("placed", BASE + timedelta(minutes=100), BASE + timedelta(minutes=200))
    ranges = connector.split("sales.orders", parts=4, window=window)
    ids = [
        i
        for r in ranges
        for i in _read_all(connector, "sales.orders", window=window, key_range=r)
        .column("id")
        .to_pylist()
    ]
    assert sorted(ids) == list(range(100, 200))
    assert connector.split("public.nokey", parts=4) == [None]
    assert connector.split("sales.lines", parts=4) == [None]
    assert connector.split("sales.big_orders", parts=4) == [None]
    assert connector.split("sales.orders", parts=4, min_rows=10_000) == [None]
    assert connector.split("sales.orders", parts=1) == [None]
    with pytest.raises(SourceConfigError):
        list(connector.read("sales.orders", key_range=KeyRange("customer", 1, 2)))


# --- types ---------------------------------------------------------------------------------

EXPECTED_TYPES: dict[str, tuple[pa.DataType, list[Any]]] = {
    "b": (pa.bool_(), [True, None, False]),
    "i2": (pa.int16(), [-32768, None, 32767]),
    "i4": (pa.int32(), [-(2**31), None, 2**31 - 1]),
    "i8": (pa.int64(), [-(2**63), None, 2**63 - 1]),
    "f8": (pa.float64(), [2.5e300, None, float("-inf")]),
    "n10": (pa.decimal128(10, 2), [Decimal("-12345678.91"), None, Decimal("99999999.99")]),
    "n38": (
        pa.decimal128(38, 10),
        [
            Decimal("1234567890123456789012345678.0123456789"),
            None,
            Decimal("-9999999999999999999999999999.9999999999"),
        ],
    ),
    "n50": (
        pa.large_string(),
        ["123456789012345678901234567890123456789012345.12345", None, "-1.00000"],
    ),
    "nu": (pa.large_string(), ["0.000000000000000000000000000000000001", None, "NaN"]),
    "m": (pa.large_string(), ["1234.56", None, "-0.01"]),
    "t": (pa.large_string(), ["héllo ✓", None, ""]),
    "vc": (pa.large_string(), ["short", None, ""]),
    "c": (pa.large_string(), ["ab  ", None, "    "]),
    "u": (
        pa.large_string(),
        ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, "00000000-0000-0000-0000-000000000000"],
    ),
    "j": (pa.large_string(), ['{"b": 1,  "a": [1]}', None, "[]"]),
    "jb": (pa.large_string(), ['{"a": [1.10], "b": 1}', None, "{}"]),
    "ia": (pa.large_string(), ["[1,null,3]", None, "[]"]),
    "ta": (pa.large_string(), ['["x,y",null,"\\"q\\""]', None, "[]"]),
    "by": (pa.large_binary(), [b"\x00\xff\x10", None, b""]),
    "e": (pa.large_string(), ["sad", None, "happy"]),
    "dp": (pa.decimal128(12, 3), [Decimal("123456789.123"), None, Decimal("-0.001")]),
    "dpos": (pa.int32(), [7, None, 1]),
    "d": (pa.date32(), [date(1, 1, 1), None, date(9999, 12, 31)]),
    "ts": (
        pa.timestamp("us"),
        [datetime(1900, 2, 28, 23, 59, 59, 999999), None, datetime(1970, 1, 1)],
    ),
    "tz": (
        pa.timestamp("us", tz="UTC"),
        [
            datetime(2262, 4, 12, 0, 0, 0, 1, tzinfo=UTC),
            None,
            datetime(1677, 9, 21, 0, 12, 43, 145224, tzinfo=UTC),
        ],
    ),
    "tm": (pa.large_string(), ["23:59:59.999999", None, "00:00:00"]),
    "ttz": (pa.large_string(), ["12:00:00+05:30", None, "00:00:00-12"]),
    "iv": (pa.large_string(), ["P1Y2M3DT4H5M6.789S", None, "P-1MT-0.000001S"]),
    "ip": (pa.large_string(), ["192.168.0.1/24", None, "::1"]),
}


def test_types_round_trip_exactly(connector: PostgresConnector) -> None:
    table = _read_all(connector, "public.types", batch_rows=2).sort_by("id")
    schema = {c.name: c for c in connector.describe("public.types").columns}
    for name, (arrow_type, values) in EXPECTED_TYPES.items():
        assert table.schema.field(name).type == arrow_type, name
        assert schema[name].arrow_type == arrow_type, name
        assert schema[name].lossy is False, name
        assert table.column(name).to_pylist() == values, name
    f4 = table.column("f4").to_pylist()
    assert f4[0] == 1.5 and f4[1] is None and f4[2] != f4[2]  # NaN
    assert table.schema.field("f4").type == pa.float32()


def test_type_names_as_the_catalog_spells_them(connector: PostgresConnector) -> None:
    native = {c.name: c.original_type for c in connector.describe("public.types").columns}
    assert native["n10"] == "numeric(10,2)" and native["nu"] == "numeric"
    assert native["ia"] == "integer[]" and native["e"] == "mood" and native["dp"] == "price"
    assert native["tz"] == "timestamp with time zone"


def test_preview_of_every_type_is_json_ready(connector: PostgresConnector) -> None:
    import json

    _, rows = connector.preview("public.types", count=3)
    json.dumps(rows)
    assert rows[0]["n38"] == "1234567890123456789012345678.0123456789"
    assert rows[0]["by"] == "AP8Q"
    assert rows[0]["tz"] == "2262-04-12T00:00:00.000001+00:00"


def test_infinite_dates_and_timestamps_read_as_null(
    connector: PostgresConnector, database: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.forever (id int PRIMARY KEY, d date, ts timestamp, "
            "tz timestamptz);"
            "INSERT INTO public.forever VALUES (1, 'infinity', '-infinity', 'infinity'),"
            "(2, '2024-02-29', '2024-02-29 12:00', '2024-02-29 12:00+00')"
        )
    table = _read_all(connector, "public.forever").sort_by("id")
    assert table.column("d").to_pylist() == [None, date(2024, 2, 29)]
    assert table.column("ts").to_pylist() == [None, datetime(2024, 2, 29, 12)]
    assert table.column("tz").to_pylist() == [None, datetime(2024, 2, 29, 12, tzinfo=UTC)]


# --- regressions found by the conformance suite (tests/conformance) ------------------------


def test_primary_key_positions_count_from_one_in_key_order(connector: PostgresConnector) -> None:
    # pg_index.indkey is an int2vector, subscripted from 0: positions must still be 1-based
    lines = {c.name: c.primary_key_position for c in connector.describe("sales.lines").columns}
    assert lines == {"order_id": 1, "line": 2, "qty": None}
    orders = {c.name: c.primary_key_position for c in connector.describe("sales.orders").columns}
    assert orders["id"] == 1


def test_included_columns_are_not_part_of_the_key(
    connector: PostgresConnector, database: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.covering (b int, a int, note text, PRIMARY KEY (a, b) "
            "INCLUDE (note))"
        )
    schema = connector.describe("public.covering")
    assert [(c.name, c.primary_key_position) for c in schema.columns] == [
        ("b", 2),
        ("a", 1),
        ("note", None),
    ]
    assert schema.primary_key == ["a", "b"]


def test_a_name_holding_nul_is_not_found(connector: PostgresConnector) -> None:
    for name in ("public.gappy\x00", "\x00", 'sales."orders\x00"'):
        with pytest.raises(NotFound):
            connector.describe(name)
        with pytest.raises(NotFound):
            list(connector.read(name))


def test_preview_spells_non_finite_floats_as_postgresql_does(connector: PostgresConnector) -> None:
    import json

    _, rows = connector.preview("public.types", count=3)
    json.dumps(rows, allow_nan=False)  # JSON has no NaN or Infinity
    assert (rows[0]["f4"], rows[0]["f8"]) == (1.5, 2.5e300)
    assert (rows[1]["f4"], rows[1]["f8"]) == (None, None)
    assert (rows[2]["f4"], rows[2]["f8"]) == ("NaN", "-Infinity")


@pytest.mark.parametrize(
    "bound",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
    ],
)
def test_a_window_bound_outside_utcs_years_is_an_invalid_request(
    connector: PostgresConnector, bound: datetime
) -> None:
    for column in ("placed", "local_placed", "day"):
        with pytest.raises(InvalidRequest, match="years 1 to 9999"):
            list(connector.read("sales.orders", window=ReadWindow(column, start=bound)))
        with pytest.raises(InvalidRequest):
            connector.split("sales.orders", parts=2, window=ReadWindow(column, end=bound))
