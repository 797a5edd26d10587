"""One row of every SQL Server type, as T-SQL literals and as the exact Python values."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

D = decimal.Decimal
LONG_TEXT = "long-" * 1200  # 6000 characters: crosses a packet, PLP in (max) columns
LONG_BYTES = bytes(range(256)) * 30

# (column, declared type, T-SQL literal, Python value)
SAMPLES: list[tuple[str, str, str, Any]] = [
    ("c_bit", "bit", "1", True),
    ("c_tinyint", "tinyint", "255", 255),
    ("c_smallint", "smallint", "-32768", -32768),
    ("c_int", "int", "-2147483648", -2147483648),
    ("c_bigint", "bigint", "9223372036854775807", 9223372036854775807),
    (
        "c_decimal",
        "decimal(38,10)",
        "-1234567890123456789012345678.0123456789",
        D("-1234567890123456789012345678.0123456789"),
    ),
    ("c_numeric", "numeric(5,2)", "999.99", D("999.99")),
    ("c_money", "money", "-922337203685477.5808", D("-922337203685477.5808")),
    ("c_smallmoney", "smallmoney", "214748.3647", D("214748.3647")),
    ("c_real", "real", "1.5", 1.5),
    ("c_float", "float", "0.1", 0.1),
    ("c_char", "char(5)", "'ab'", "ab   "),
    ("c_varchar", "varchar(50)", "'café'", "café"),
    ("c_varchar_max", "varchar(max)", f"'{LONG_TEXT}'", LONG_TEXT),
    ("c_nchar", "nchar(3)", "N'ñ'", "ñ  "),
    ("c_nvarchar", "nvarchar(50)", "N'héllo 𝄞 世界'", "héllo 𝄞 世界"),
    ("c_nvarchar_max", "nvarchar(max)", f"N'{LONG_TEXT}ü'", LONG_TEXT + "ü"),
    ("c_xml", "xml", "N'<doc n=\"1\">ü</doc>'", '<doc n="1">ü</doc>'),
    ("c_binary", "binary(4)", "0xDEADBEEF", b"\xde\xad\xbe\xef"),
    ("c_varbinary", "varbinary(50)", "0x00FF10", b"\x00\xff\x10"),
    ("c_varbinary_max", "varbinary(max)", "0x" + LONG_BYTES.hex().upper(), LONG_BYTES),
    ("c_date", "date", "'2024-02-29'", dt.date(2024, 2, 29)),
    ("c_time", "time(6)", "'23:59:59.123456'", dt.time(23, 59, 59, 123456)),
    ("c_datetime", "datetime", "'2020-05-06T07:08:09.003'", dt.datetime(2020, 5, 6, 7, 8, 9, 3000)),
    ("c_smalldatetime", "smalldatetime", "'2079-06-06T23:59:00'", dt.datetime(2079, 6, 6, 23, 59)),
    (
        "c_datetime2",
        "datetime2(6)",
        "'9999-12-31T23:59:59.999999'",
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
    ),
    (
        "c_datetimeoffset",
        "datetimeoffset(3)",
        "'2020-01-01T10:00:00.123-05:30'",
        dt.datetime(
            2020, 1, 1, 10, 0, 0, 123000, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))
        ),
    ),
    (
        "c_guid",
        "uniqueidentifier",
        "'6F9619FF-8B86-D011-B42D-00C04FC964FF'",
        uuid.UUID("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
    ),
]


def create_table_sql(table: str) -> str:
    columns = ", ".join(f"{name} {sql_type} NULL" for name, sql_type, _, _ in SAMPLES)
    return f"CREATE TABLE {table} (id int NOT NULL PRIMARY KEY, {columns})"


def insert_rows_sql(table: str) -> str:
    names = ", ".join(name for name, _, _, _ in SAMPLES)
    literals = ", ".join(literal for _, _, literal, _ in SAMPLES)
    nulls = ", ".join("NULL" for _ in SAMPLES)
    return (
        f"INSERT INTO {table} (id, {names}) VALUES (1, {literals}); "
        f"INSERT INTO {table} (id, {names}) VALUES (2, {nulls})"
    )
