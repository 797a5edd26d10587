"""The SQL Server connector against the emulator with the real mssql-python driver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from flowservice.connectors.base import ReadWindow
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.connectors.sqlserver.types import DATETIMEOFFSET
from flowservice.errors import NotFound, SourceConfigError
from mssql_emulator.testing import RunningEmulator, running_emulator

UTC = dt.UTC

SCHEMA_SQL = """
CREATE SCHEMA sales;
CREATE TABLE dbo.all_types (
    id int NOT NULL PRIMARY KEY,
    c_bit bit, c_tinyint tinyint, c_smallint smallint, c_int int, c_bigint bigint,
    c_real real, c_float float,
    c_decimal decimal(19,4), c_numeric numeric(38,10), c_money money, c_smallmoney smallmoney,
    c_char char(5), c_varchar varchar(20), c_nchar nchar(3), c_nvarchar nvarchar(50),
    c_nvarchar_max nvarchar(max),
    c_binary binary(4), c_varbinary varbinary(10), c_varbinary_max varbinary(max),
    c_date date, c_time time(6), c_datetime datetime, c_smalldatetime smalldatetime,
    c_datetime2 datetime2(6), c_datetimeoffset datetimeoffset(6),
    c_uniqueidentifier uniqueidentifier
);
CREATE TABLE sales.orders (
    region nvarchar(10) NOT NULL, id int NOT NULL, amount decimal(10,2),
    updated datetime2(3) NOT NULL,
    CONSTRAINT pk_orders PRIMARY KEY (region, id)
);
CREATE TABLE dbo.[we]]ird name] (x int);
CREATE TABLE dbo.events (id int NOT NULL PRIMARY KEY NONCLUSTERED, at datetime2(0) NOT NULL);
CREATE CLUSTERED INDEX cx_events_at ON dbo.events (at, id);
CREATE VIEW sales.big_orders AS SELECT region, id FROM sales.orders WHERE amount > 100;
"""

DATA_SQL = """
INSERT INTO dbo.all_types VALUES (
    1, 1, 255, -32768, -2147483648, -9223372036854775808,
    1.5, -2.25,
    123456789012345.6789, 1234567890123456789012345678.0123456789,
    -922337203685477.5808, 214748.3647,
    'ab', 'hello', N'äö', N'日本語 text', N'long ' ,
    0x00010203, 0xDEADBEEF, 0x0A,
    '0001-01-01', '23:59:59.999999', '1900-01-01 00:00:00', '2079-06-06 23:59:00',
    '9999-12-31 23:59:59.999999', '2024-05-01 10:30:00.123456 +02:00',
    '58185E0D-3A91-44D8-BC46-7107217E0A6D'
);
INSERT INTO dbo.all_types (id) VALUES (2);
INSERT INTO dbo.all_types VALUES (
    3, 0, 0, 32767, 2147483647, 9223372036854775807,
    -3.5, 1e300,
    -0.0001, -9999999999999999999999999999.9999999999,
    922337203685477.5807, -214748.3648,
    'abcde', '', N'x', N'', N'',
    0xFFFFFFFF, 0x00, 0x0102,
    '9999-12-31', '00:00:00', '2024-02-29 12:34:56.997', '2024-02-29 12:35:00',
    '0001-01-01 00:00:00', '0001-01-01 14:00:00 +14:00',
    '00000000-0000-0000-0000-000000000000'
);
INSERT INTO sales.orders VALUES
    (N'west', 2, 250.00, '2024-01-01 10:00:00'),
    (N'east', 1, 50.50, '2024-01-01 23:59:59.999'),
    (N'east', 2, 150.00, '2024-01-02 00:00:00'),
    (N'west', 1, 10.00, '2024-01-02 12:00:00');
INSERT INTO dbo.[we]]ird name] VALUES (7);
INSERT INTO dbo.events VALUES (1, '2024-03-01'), (2, '2024-01-01'), (3, '2024-02-01');
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[SCHEMA_SQL, DATA_SQL], tls=True) as running:
        yield running


def connection_string(emu: RunningEmulator, extra: str = "Encrypt=false", **override: str) -> str:
    values = {
        "Data Source": f"{emu.host},{emu.port}",
        "Initial Catalog": emu.database,
        "User ID": emu.user,
        "Password": emu.password,
        **override,
    }
    return ";".join(f"{k}={v}" for k, v in values.items()) + ";" + extra


@pytest.fixture(scope="module")
def connector(emulator: RunningEmulator) -> SqlServerConnector:
    return SqlServerConnector({"connectionString": connection_string(emulator)})


# --- check ---------------------------------------------------------------


def test_check_succeeds(connector: SqlServerConnector) -> None:
    assert connector.check().ok


def test_check_succeeds_over_tls_with_a_trusted_certificate(emulator: RunningEmulator) -> None:
    cs = connection_string(emulator, "Encrypt=true;TrustServerCertificate=true")
    assert SqlServerConnector({"connectionString": cs}).check().ok


@pytest.mark.parametrize("host", ["(local)", ".", "localhost", "tcp:127.0.0.1"])
def test_local_server_spellings(emulator: RunningEmulator, host: str) -> None:
    cs = connection_string(emulator, **{"Data Source": f"{host},{emulator.port}"})
    assert SqlServerConnector({"connectionString": cs}).check().ok


def check_failure(cs: str) -> tuple[str, str]:
    result = SqlServerConnector({"connectionString": cs}).check()
    assert result.ok is False
    assert result.message is not None
    return result.details["reason"], result.message


def test_wrong_password(emulator: RunningEmulator) -> None:
    reason, message = check_failure(connection_string(emulator, Password="Wrong-Secret-9"))
    assert reason == "login_failed"
    assert message.startswith(f"Login failed for user '{emulator.user}'")
    assert "Wrong-Secret-9" not in message


def test_unknown_database(emulator: RunningEmulator) -> None:
    reason, message = check_failure(connection_string(emulator, **{"Initial Catalog": "nodb"}))
    assert reason == "unknown_database"
    assert message.startswith("Cannot open database 'nodb'")
    assert emulator.password not in message


def test_untrusted_certificate(emulator: RunningEmulator) -> None:
    reason, message = check_failure(connection_string(emulator, "Encrypt=true"))
    assert reason == "tls"
    assert "certificate is not trusted" in message


def test_server_without_tls() -> None:
    with running_emulator(tls=False) as plain:
        reason, message = check_failure(connection_string(plain, "Encrypt=true"))
    assert reason == "tls"
    assert message.startswith("TLS with")
    assert plain.password not in message


# --- explore -------------------------------------------------------------


def test_list_objects_sorted_with_views(connector: SqlServerConnector) -> None:
    objects = connector.list_objects()
    assert [(o.name, o.type) for o in objects] == [
        ("dbo.all_types", "table"),
        ("dbo.events", "table"),
        ("dbo.we]ird name", "table"),
        ("sales.big_orders", "view"),
        ("sales.orders", "table"),
    ]
    assert all(o.can_preview and o.can_fetch_schema for o in objects)
    assert [o.name for o in connector.list_objects(start=2, limit=2)] == [
        "dbo.we]ird name",
        "sales.big_orders",
    ]
    assert connector.list_objects(start=10) == []


def test_describe(connector: SqlServerConnector) -> None:
    schema = connector.describe("sales.orders")
    assert schema.name == "sales.orders"
    assert [
        (c.name, c.original_type, c.xdm_type, c.nullable, c.primary_key_position)
        for c in schema.columns
    ] == [
        ("region", "nvarchar(10)", "string", False, 1),
        ("id", "int", "integer", False, 2),
        ("amount", "decimal(10,2)", "number", True, None),
        ("updated", "datetime2(3)", "date-time", False, None),
    ]


def test_describe_reports_every_original_type(connector: SqlServerConnector) -> None:
    types = {c.name: c.original_type for c in connector.describe("dbo.all_types").columns}
    assert types == {
        "id": "int",
        "c_bit": "bit",
        "c_tinyint": "tinyint",
        "c_smallint": "smallint",
        "c_int": "int",
        "c_bigint": "bigint",
        "c_real": "real",
        "c_float": "float",
        "c_decimal": "decimal(19,4)",
        "c_numeric": "numeric(38,10)",
        "c_money": "money",
        "c_smallmoney": "smallmoney",
        "c_char": "char(5)",
        "c_varchar": "varchar(20)",
        "c_nchar": "nchar(3)",
        "c_nvarchar": "nvarchar(50)",
        "c_nvarchar_max": "nvarchar(max)",
        "c_binary": "binary(4)",
        "c_varbinary": "varbinary(10)",
        "c_varbinary_max": "varbinary(max)",
        "c_date": "date",
        "c_time": "time(6)",
        "c_datetime": "datetime",
        "c_smalldatetime": "smalldatetime",
        "c_datetime2": "datetime2(6)",
        "c_datetimeoffset": "datetimeoffset(6)",
        "c_uniqueidentifier": "uniqueidentifier",
    }


@pytest.mark.parametrize(
    "name",
    ["dbo.nope", "nope", "sales.orders; DROP TABLE sales.orders", "sales.orders' --", "x.y.z"],
)
def test_unknown_objects_are_not_found(connector: SqlServerConnector, name: str) -> None:
    with pytest.raises(NotFound):
        connector.describe(name)
    assert read_table(connector, "sales.orders").num_rows == 4  # nothing was dropped


def test_names_needing_quotes(connector: SqlServerConnector) -> None:
    assert [c.name for c in connector.describe("dbo.we]ird name").columns] == ["x"]
    assert [c.name for c in connector.describe("[dbo].[we]]ird name]").columns] == ["x"]
    assert pa.Table.from_batches(list(connector.read("dbo.we]ird name"))).to_pylist() == [{"x": 7}]


# --- read: every type round-trips exactly ----------------------------------

EXPECTED_ROW_1: dict[str, Any] = {
    "id": 1,
    "c_bit": True,
    "c_tinyint": 255,
    "c_smallint": -32768,
    "c_int": -2147483648,
    "c_bigint": -9223372036854775808,
    "c_real": 1.5,
    "c_float": -2.25,
    "c_decimal": Decimal("123456789012345.6789"),
    "c_numeric": Decimal("1234567890123456789012345678.0123456789"),
    "c_money": Decimal("-922337203685477.5808"),
    "c_smallmoney": Decimal("214748.3647"),
    "c_char": "ab   ",
    "c_varchar": "hello",
    "c_nchar": "äö ",
    "c_nvarchar": "日本語 text",
    "c_nvarchar_max": "long ",
    "c_binary": b"\x00\x01\x02\x03",
    "c_varbinary": b"\xde\xad\xbe\xef",
    "c_varbinary_max": b"\n",
    "c_date": dt.date(1, 1, 1),
    "c_time": "23:59:59.999999",
    "c_datetime": dt.datetime(1900, 1, 1),
    "c_smalldatetime": dt.datetime(2079, 6, 6, 23, 59),
    "c_datetime2": dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    "c_datetimeoffset": {
        "utc": dt.datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=UTC),
        "offset_minutes": 120,
    },
    "c_uniqueidentifier": "58185e0d-3a91-44d8-bc46-7107217e0a6d",
}
EXPECTED_ROW_3: dict[str, Any] = {
    "id": 3,
    "c_bit": False,
    "c_tinyint": 0,
    "c_smallint": 32767,
    "c_int": 2147483647,
    "c_bigint": 9223372036854775807,
    "c_real": -3.5,
    "c_float": 1e300,
    "c_decimal": Decimal("-0.0001"),
    "c_numeric": Decimal("-9999999999999999999999999999.9999999999"),
    "c_money": Decimal("922337203685477.5807"),
    "c_smallmoney": Decimal("-214748.3648"),
    "c_char": "abcde",
    "c_varchar": "",
    "c_nchar": "x  ",
    "c_nvarchar": "",
    "c_nvarchar_max": "",
    "c_binary": b"\xff\xff\xff\xff",
    "c_varbinary": b"\x00",
    "c_varbinary_max": b"\x01\x02",
    "c_date": dt.date(9999, 12, 31),
    "c_time": "00:00:00",
    "c_datetime": dt.datetime(2024, 2, 29, 12, 34, 56, 997000),
    "c_smalldatetime": dt.datetime(2024, 2, 29, 12, 35),
    "c_datetime2": dt.datetime(1, 1, 1),
    "c_datetimeoffset": {
        "utc": dt.datetime(1, 1, 1, tzinfo=UTC),
        "offset_minutes": 840,
    },
    "c_uniqueidentifier": "00000000-0000-0000-0000-000000000000",
}


def read_table(connector: SqlServerConnector, table: str, **kwargs: Any) -> pa.Table:
    batches = list(connector.read(table, **kwargs))
    return pa.Table.from_batches(batches)


def test_read_round_trips_every_type_exactly(connector: SqlServerConnector) -> None:
    table = read_table(connector, "dbo.all_types", ordered=True)
    schema = connector.describe("dbo.all_types")
    assert table.schema.types == [c.arrow_type for c in schema.columns]
    assert table.schema.field("c_datetimeoffset").type == DATETIMEOFFSET
    rows = table.to_pylist()
    assert rows[0] == EXPECTED_ROW_1
    assert rows[1] == {name: (2 if name == "id" else None) for name in EXPECTED_ROW_1}
    assert rows[2] == EXPECTED_ROW_3


def test_every_type_is_written_to_delta_lake_and_read_back_unchanged(
    connector: SqlServerConnector, tmp_path: Path
) -> None:
    table = read_table(connector, "dbo.all_types", ordered=True)
    write_deltalake(str(tmp_path), table)
    back = DeltaTable(str(tmp_path)).to_pyarrow_table()
    assert back.to_pylist() == table.to_pylist()


def test_read_columns_window_order_and_batches(connector: SqlServerConnector) -> None:
    window = ReadWindow(
        "updated", dt.datetime(2024, 1, 1, 12, tzinfo=UTC), dt.datetime(2024, 1, 2, 12)
    )
    batches = list(
        connector.read(
            "sales.orders", columns=["ID", "region"], window=window, batch_rows=1, ordered=True
        )
    )
    assert [b.num_rows for b in batches] == [1, 1]
    assert pa.Table.from_batches(batches).to_pylist() == [
        {"id": 1, "region": "east"},
        {"id": 2, "region": "east"},
    ]


def test_ordered_reads_follow_the_clustered_index(connector: SqlServerConnector) -> None:
    table = read_table(connector, "dbo.events", ordered=True, batch_rows=1)
    assert table.column("id").to_pylist() == [2, 3, 1]


def test_read_unknown_column(connector: SqlServerConnector) -> None:
    with pytest.raises(SourceConfigError, match=r"Column 'nope' is not in sales\.orders"):
        list(connector.read("sales.orders", columns=["nope"]))


def test_read_view(connector: SqlServerConnector) -> None:
    table = read_table(connector, "sales.big_orders")
    assert sorted(table.to_pylist(), key=lambda r: (r["region"], r["id"])) == [
        {"region": "east", "id": 2},
        {"region": "west", "id": 2},
    ]


# --- preview -------------------------------------------------------------


def test_preview_is_json_typed(connector: SqlServerConnector) -> None:
    schema, rows = connector.preview("dbo.all_types")
    assert schema.name == "dbo.all_types"
    assert len(rows) == 3
    assert rows[0] == {
        "id": 1,
        "c_bit": True,
        "c_tinyint": 255,
        "c_smallint": -32768,
        "c_int": -2147483648,
        "c_bigint": -9223372036854775808,
        "c_real": 1.5,
        "c_float": -2.25,
        "c_decimal": "123456789012345.6789",
        "c_numeric": "1234567890123456789012345678.0123456789",
        "c_money": "-922337203685477.5808",
        "c_smallmoney": "214748.3647",
        "c_char": "ab   ",
        "c_varchar": "hello",
        "c_nchar": "äö ",
        "c_nvarchar": "日本語 text",
        "c_nvarchar_max": "long ",
        "c_binary": "AAECAw==",
        "c_varbinary": "3q2+7w==",
        "c_varbinary_max": "Cg==",
        "c_date": "0001-01-01",
        "c_time": "23:59:59.999999",
        "c_datetime": "1900-01-01T00:00:00",
        "c_smalldatetime": "2079-06-06T23:59:00",
        "c_datetime2": "9999-12-31T23:59:59.999999",
        "c_datetimeoffset": "2024-05-01T10:30:00.123456+02:00",
        "c_uniqueidentifier": "58185e0d-3a91-44d8-bc46-7107217e0a6d",
    }
    assert rows[1]["c_decimal"] is None
    assert rows[2]["c_datetimeoffset"] == "0001-01-01T14:00:00+14:00"


def test_preview_count(connector: SqlServerConnector) -> None:
    _, rows = connector.preview("sales.orders", count=2)
    assert rows == [
        {"region": "east", "id": 1, "amount": "50.50", "updated": "2024-01-01T23:59:59.999000"},
        {"region": "east", "id": 2, "amount": "150.00", "updated": "2024-01-02T00:00:00"},
    ]
