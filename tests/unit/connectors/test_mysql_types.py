"""MySQL / MariaDB types → Arrow and XDM, the SELECT expressions, conforming and SQL literals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.mysql.catalog import (
    CatalogColumn,
    CatalogObject,
    name_candidates,
)
from flowservice.connectors.mysql.connector import key_ranges
from flowservice.connectors.mysql.queries import datetime_literal, read_statement
from flowservice.connectors.mysql.types import (
    MySqlType,
    conform,
    map_type,
    quote_identifier,
    select_item,
)
from flowservice.errors import SourceConfigError


def t(name: str, column_type: str | None = None, **kw: int) -> MySqlType:
    return MySqlType(name=name, column_type=column_type or name, **kw)


@pytest.mark.parametrize(
    ("sql_type", "arrow", "xdm"),
    [
        (t("tinyint", "tinyint(1)"), pa.int8(), "integer"),
        (t("tinyint", "tinyint(3) unsigned"), pa.uint8(), "integer"),
        (t("smallint", "smallint(5) unsigned"), pa.uint16(), "integer"),
        (t("mediumint"), pa.int32(), "integer"),
        (t("int", "int(10) unsigned"), pa.uint32(), "integer"),
        (t("bigint", "bigint(20) unsigned"), pa.uint64(), "integer"),
        (t("bigint", "bigint(20)"), pa.int64(), "integer"),
        (t("decimal", "decimal(38,10)", precision=38, scale=10), pa.decimal128(38, 10), "number"),
        (t("decimal", "decimal(65,30)", precision=65, scale=30), pa.large_string(), "string"),
        (t("float"), pa.float32(), "number"),
        (t("double"), pa.float64(), "number"),
        (t("bit", "bit(1)"), pa.bool_(), "boolean"),
        (t("bit", "bit(12)"), pa.uint64(), "integer"),
        (t("year", "year(4)"), pa.int16(), "integer"),
        (t("date"), pa.date32(), "date"),
        (t("datetime", "datetime(6)"), pa.timestamp("us"), "date-time"),
        (t("timestamp", "timestamp(3)"), pa.timestamp("us", tz="UTC"), "date-time"),
        (t("time", "time(6)"), pa.large_string(), "string"),
        (t("varchar", "varchar(20)"), pa.large_string(), "string"),
        (t("longtext"), pa.large_string(), "string"),
        (t("json"), pa.large_string(), "string"),
        (t("enum", "enum('a','b')"), pa.large_string(), "string"),
        (t("set", "set('x','y')"), pa.large_string(), "string"),
        (t("varbinary", "varbinary(4)"), pa.large_binary(), "string"),
        (t("longblob"), pa.large_binary(), "string"),
        (t("point"), pa.large_binary(), "string"),
    ],
)
def test_map_type(sql_type: MySqlType, arrow: pa.DataType, xdm: str) -> None:
    mapping = map_type(sql_type)
    assert (mapping.arrow_type, mapping.xdm_type, mapping.lossy) == (arrow, xdm, False)


def test_unknown_types_are_text_and_flagged_lossy() -> None:
    assert map_type(t("vector", "vector(3)")).lossy
    assert select_item("v", t("vector", "vector(3)")) == "CAST(`v` AS CHAR) AS `v`"


def test_select_items_are_exact_expressions() -> None:
    assert select_item("d", t("decimal", precision=28, scale=10)) == "`d`"
    assert select_item("d", t("decimal", precision=29, scale=10)) == "CAST(`d` AS CHAR) AS `d`"
    assert select_item("d", t("decimal", precision=12, scale=11)) == "CAST(`d` AS CHAR) AS `d`"
    assert select_item("b", t("bit", "bit(3)")) == "CAST(`b` AS UNSIGNED) AS `b`"
    assert "MONTH(`dt`) = 0" in select_item("dt", t("datetime"))
    assert select_item("i", t("int")) == "`i`"
    assert select_item("we`ird", t("int")) == "`we``ird`"
    assert quote_identifier("a`b") == "`a``b`"


def test_conform_builds_the_promised_schema() -> None:
    columns = [
        ("d", t("decimal", precision=5, scale=2)),
        ("ts", t("timestamp")),
        ("bit", t("bit", "bit(1)")),
        ("txt", t("text")),
        ("empty", t("date")),
    ]
    raw = pa.record_batch(
        [
            pa.array(["123.45", None]),
            pa.array([datetime(2024, 1, 1, 12), None], pa.timestamp("us")),
            pa.array([1, 0], pa.uint64()),
            pa.array(["a😀", None]),
            pa.nulls(2),
        ],
        names=["d", "ts", "bit", "txt", "empty"],
    )
    batch = conform(raw, columns)
    assert batch.schema.types == [
        pa.decimal128(5, 2),
        pa.timestamp("us", tz="UTC"),
        pa.bool_(),
        pa.large_string(),
        pa.date32(),
    ]
    assert batch.column(0).to_pylist() == [Decimal("123.45"), None]
    assert batch.column(1)[0].as_py() == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert batch.column(2).to_pylist() == [True, False]


def test_decimal_text_that_does_not_fit_fails_instead_of_rounding() -> None:
    raw = pa.record_batch([pa.array(["1.234"])], names=["d"])
    with pytest.raises(pa.ArrowInvalid):
        conform(raw, [("d", t("decimal", precision=5, scale=2))])


def test_datetime_literals_are_utc_and_zero_padded() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert datetime_literal(datetime(2024, 1, 1, 2, tzinfo=plus_two)) == (
        "'2024-01-01 00:00:00.000000'"
    )
    assert datetime_literal(datetime(5, 3, 4, 5, 6, 7, 8)) == "'0005-03-04 05:06:07.000008'"
    with pytest.raises(SourceConfigError):
        datetime_literal("2024-01-01")  # type: ignore[arg-type]


COLS = [
    CatalogColumn("id", t("bigint"), False, 1),
    CatalogColumn("at", t("datetime", "datetime(6)"), True, None),
    CatalogColumn("name", t("varchar", "varchar(5)"), True, None),
]
OBJ = CatalogObject("shop", "orders", "table")


def test_read_statement_half_open_window_and_key_range() -> None:
    window = ReadWindow("AT", datetime(2024, 1, 1), datetime(2024, 2, 1))
    sql = read_statement(OBJ, COLS, COLS[:1], window=window, key_range=KeyRange("id", 5, 9))
    assert sql == (
        "SELECT `id` FROM `shop`.`orders` WHERE `at` >= '2024-01-01 00:00:00.000000' "
        "AND `at` < '2024-02-01 00:00:00.000000' AND `id` >= 5 AND `id` < 9"
    )


def test_read_statement_rejects_wrong_columns() -> None:
    with pytest.raises(SourceConfigError, match="DATE, DATETIME or TIMESTAMP"):
        read_statement(OBJ, COLS, COLS, window=ReadWindow("name"))
    with pytest.raises(SourceConfigError, match="not an integer column"):
        read_statement(OBJ, COLS, COLS, window=None, key_range=KeyRange("name", 1, 2))


def test_name_candidates() -> None:
    assert name_candidates("orders", "shop") == [("shop", "orders")]
    assert name_candidates("orders", None) == []
    assert name_candidates("a.b.c", None) == [("a", "b.c"), ("a.b", "c")]
    assert name_candidates("`a.b`.`c``d`", "x") == [("a.b", "c`d")]
    assert name_candidates("`t.1`", "shop") == [("shop", "t.1")]


def test_key_ranges_cover_each_key_once() -> None:
    ranges = key_ranges("id", 1, 100, parts=4, min_rows=1)
    assert [(r.start, r.end) for r in ranges if r] == [(None, 26), (26, 51), (51, 76), (76, None)]
    assert key_ranges("id", 1, 3, parts=4, min_rows=2) == [None]
    top = 2**64 - 1
    wide = key_ranges("id", 0, top, parts=2, min_rows=1)
    assert [(r.start, r.end) for r in wide if r] == [(None, 2**63), (2**63, None)]
