"""The type table, conforming driver batches, preview values, name resolution and queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from flowservice.connectors.base import ReadWindow
from flowservice.connectors.sqlserver.catalog import (
    CatalogColumn,
    CatalogObject,
    name_candidates,
)
from flowservice.connectors.sqlserver.preview_values import json_rows
from flowservice.connectors.sqlserver.queries import read_statement, select_statement
from flowservice.connectors.sqlserver.types import (
    DATETIMEOFFSET,
    SqlServerType,
    conform,
    map_type,
    quote_identifier,
    select_items,
    time_text,
)
from flowservice.errors import SourceConfigError

T = SqlServerType

TABLE = [
    (T("bit"), "bit", pa.bool_(), "boolean", False),
    (T("tinyint"), "tinyint", pa.int16(), "integer", False),
    (T("smallint"), "smallint", pa.int16(), "integer", False),
    (T("int"), "int", pa.int32(), "integer", False),
    (T("bigint"), "bigint", pa.int64(), "integer", False),
    (T("real", precision=24), "real", pa.float32(), "number", False),
    (T("float", precision=53), "float", pa.float64(), "number", False),
    (T("decimal", precision=19, scale=4), "decimal(19,4)", pa.decimal128(19, 4), "number", False),
    (T("numeric", precision=38, scale=0), "numeric(38,0)", pa.decimal128(38, 0), "number", False),
    (T("money", precision=19, scale=4), "money", pa.decimal128(19, 4), "number", False),
    (T("smallmoney"), "smallmoney", pa.decimal128(10, 4), "number", False),
    (T("nvarchar", length=50), "nvarchar(50)", pa.large_string(), "string", False),
    (T("varchar", length=-1), "varchar(max)", pa.large_string(), "string", False),
    (T("char", length=10), "char(10)", pa.large_string(), "string", False),
    (T("ntext", length=1073741823), "ntext", pa.large_string(), "string", False),
    (T("varbinary", length=-1), "varbinary(max)", pa.large_binary(), "string", False),
    (T("binary", length=16), "binary(16)", pa.large_binary(), "string", False),
    (T("timestamp"), "timestamp", pa.large_binary(), "string", False),
    (T("uniqueidentifier"), "uniqueidentifier", pa.large_string(), "string", False),
    (T("date"), "date", pa.date32(), "date", False),
    (T("time", scale=7), "time(7)", pa.large_string(), "string", False),
    (T("datetime"), "datetime", pa.timestamp("us"), "date-time", False),
    (T("smalldatetime"), "smalldatetime", pa.timestamp("us"), "date-time", False),
    (T("datetime2", scale=6), "datetime2(6)", pa.timestamp("us"), "date-time", False),
    (T("datetime2", scale=7), "datetime2(7)", pa.timestamp("us"), "date-time", True),
    (T("datetimeoffset", scale=3), "datetimeoffset(3)", DATETIMEOFFSET, "date-time", False),
    (T("xml", length=-1), "xml", pa.large_string(), "string", True),
    (T("sql_variant"), "sql_variant", pa.large_string(), "string", True),
    (T("hierarchyid"), "hierarchyid", pa.large_string(), "string", True),
    (T("geography"), "geography", pa.large_string(), "string", True),
]


@pytest.mark.parametrize(("sql_type", "original", "arrow", "xdm", "lossy"), TABLE)
def test_type_table(
    sql_type: SqlServerType, original: str, arrow: pa.DataType, xdm: str, lossy: bool
) -> None:
    mapping = map_type(sql_type)
    assert str(sql_type) == original
    assert mapping.arrow_type == arrow
    assert mapping.xdm_type == xdm
    assert mapping.lossy is lossy


def test_select_items_quote_and_convert() -> None:
    assert quote_identifier("we]ird") == "[we]]ird]"
    assert select_items("a]b", T("int")) == ["[a]]b]"]
    assert select_items("d", T("datetimeoffset", scale=7)) == ["[d]", "DATEPART(TZOFFSET, [d])"]
    assert select_items("x", T("xml")) == ["CAST([x] AS nvarchar(max))"]
    assert select_items("h", T("hierarchyid")) == ["[h].ToString()"]
    assert select_items("t", T("datetime2", scale=7)) == ["[t]"]


def test_conform_turns_driver_batches_into_the_promised_schema() -> None:
    columns = [
        ("id", T("int")),
        ("guid", T("uniqueidentifier")),
        ("at", T("datetimeoffset", scale=7)),
        ("price", T("money")),
        ("raw", T("varbinary", length=-1)),
    ]
    utc = dt.datetime(1, 1, 1, 0, 0, 0, 1)
    driver = pa.RecordBatch.from_arrays(
        [
            pa.array([1, 2], pa.int32()),
            pa.array(["58185E0D-3A91-44D8-BC46-7107217E0A6D", None], pa.large_string()),
            pa.array([utc, None], pa.timestamp("us", tz="+00:00")),
            pa.array([120, None], pa.int32()),
            pa.array([Decimal("922337203685477.5807"), None], pa.decimal128(19, 4)),
            pa.array([b"\x00\xff", None], pa.large_binary()),
        ],
        names=["id", "guid", "at", "", "price", "raw"],
    )
    batch = conform(driver, columns)
    assert batch.schema.types == [
        pa.int32(),
        pa.large_string(),
        DATETIMEOFFSET,
        pa.decimal128(19, 4),
        pa.large_binary(),
    ]
    assert batch.column(1).to_pylist() == ["58185e0d-3a91-44d8-bc46-7107217e0a6d", None]
    assert batch.column(2).to_pylist() == [
        {"utc": utc.replace(tzinfo=dt.UTC), "offset_minutes": 120},
        None,
    ]
    assert json_rows(batch) == [
        {
            "id": 1,
            "guid": "58185e0d-3a91-44d8-bc46-7107217e0a6d",
            "at": "0001-01-01T02:00:00.000001+02:00",
            "price": "922337203685477.5807",
            "raw": "AP8=",
        },
        {"id": 2, "guid": None, "at": None, "price": None, "raw": None},
    ]


def test_preview_values_of_temporal_types() -> None:
    driver = pa.RecordBatch.from_arrays(
        [
            pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31)], pa.date32()),
            pa.array([37056789012300, 0], pa.time64("ns")),
            pa.array(
                [dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1, 1, 1)],
                pa.timestamp("us"),
            ),
            pa.array([Decimal("-0.0100"), Decimal("5")], pa.decimal128(10, 4)),
        ],
        names=["d", "t", "ts", "n"],
    )
    columns = [
        ("d", T("date")),
        ("t", T("time", scale=7)),
        ("ts", T("datetime2", scale=6)),
        ("n", T("decimal", precision=10, scale=4)),
    ]
    batch = conform(driver, columns)
    assert batch.column("t").to_pylist() == ["10:17:36.7890123", "00:00:00"]
    assert json_rows(batch) == [
        {
            "d": "0001-01-01",
            "t": "10:17:36.7890123",
            "ts": "9999-12-31T23:59:59.999999",
            "n": "-0.0100",
        },
        {"d": "9999-12-31", "t": "00:00:00", "ts": "0001-01-01T00:00:00", "n": "5.0000"},
    ]


def test_time_text_keeps_every_digit_and_drops_trailing_zeros() -> None:
    nanos = [0, 100, 37050000000000, 37056789012300, 86399999999900, None]
    assert time_text(pa.array(nanos, pa.time64("ns"))).to_pylist() == [
        "00:00:00",
        "00:00:00.0000001",
        "10:17:30",
        "10:17:36.7890123",
        "23:59:59.9999999",
        None,
    ]


@pytest.mark.parametrize(
    ("name", "candidates"),
    [
        ("dbo.orders", [("dbo", "orders")]),
        ("orders", [("dbo", "orders")]),
        ("sales.order.lines", [("sales", "order.lines"), ("sales.order", "lines")]),
        ("[my schema].[we]]ird.name]", [("my schema", "we]ird.name")]),
        ("[only]", [("dbo", "only")]),
        ("[a].[b].[c]", [("[a]", "[b].[c]"), ("[a].[b]", "[c]")]),
        ("x'; DROP TABLE t; --", [("dbo", "x'; DROP TABLE t; --")]),
        ("", []),
    ],
)
def test_name_candidates(name: str, candidates: list[tuple[str, str]]) -> None:
    assert name_candidates(name) == candidates


OBJ = CatalogObject("sales", "order]s", "table")
COLS = [
    CatalogColumn("id", T("int"), nullable=False, primary_key_position=2),
    CatalogColumn("region", T("nvarchar", length=10), nullable=False, primary_key_position=1),
    CatalogColumn("updated", T("datetime2", scale=7), nullable=True, primary_key_position=None),
    CatalogColumn("note", T("nvarchar", length=-1), nullable=True, primary_key_position=None),
]


def test_preview_statement() -> None:
    assert select_statement(OBJ, COLS, top=5, order_key=["region", "id"]) == (
        "SELECT TOP (5) [id], [region], [updated], [note] FROM [sales].[order]]s]"
        " ORDER BY [region], [id]"
    )


def test_read_statement_with_window_and_order() -> None:
    start = dt.datetime(2024, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    end = dt.datetime(2024, 1, 2)
    sql, params = read_statement(
        OBJ, COLS, COLS[:2], window=ReadWindow("UPDATED", start, end), order_key=["region", "id"]
    )
    assert sql == (
        "SELECT [id], [region] FROM [sales].[order]]s] WHERE [updated] >= ? AND [updated] < ?"
        " ORDER BY [region], [id]"
    )
    assert params == (dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2))


def test_read_window_needs_a_temporal_column() -> None:
    with pytest.raises(SourceConfigError, match="must be a date or time column"):
        read_statement(OBJ, COLS, COLS, window=ReadWindow("note"), order_key=[])
    with pytest.raises(SourceConfigError, match=r"is not in sales\.order\]s"):
        read_statement(OBJ, COLS, COLS, window=ReadWindow("missing"), order_key=[])
