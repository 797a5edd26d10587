"""PostgreSQL type mapping, SQL text, conforming batches, re-batching, splits and error classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.postgresql.catalog import CatalogColumn, CatalogObject, name_candidates
from flowservice.connectors.postgresql.connection_string import parse_connection_string
from flowservice.connectors.postgresql.connector import rebatch
from flowservice.connectors.postgresql.errors import (
    PostgresConfigError,
    PostgresSystemError,
    PostgresTransientError,
    classify,
)
from flowservice.connectors.postgresql.key_ranges import integer_key, key_ranges
from flowservice.connectors.postgresql.preview_values import json_rows
from flowservice.connectors.postgresql.queries import read_statement, timestamp_literal
from flowservice.connectors.postgresql.types import (
    PostgresType,
    conform,
    map_type,
    numeric_modifiers,
    quote_identifier,
    select_item,
)
from flowservice.errors import SourceConfigError, TransientSourceError


def pg(
    name: str, kind: str = "b", precision: int | None = None, scale: int | None = None
) -> PostgresType:
    return PostgresType(name=name, native=name, kind=kind, precision=precision, scale=scale)


@pytest.mark.parametrize(
    ("pg_type", "arrow_type", "xdm"),
    [
        (pg("bool"), pa.bool_(), "boolean"),
        (pg("int2"), pa.int16(), "integer"),
        (pg("int4"), pa.int32(), "integer"),
        (pg("int8"), pa.int64(), "integer"),
        (pg("float4"), pa.float32(), "number"),
        (pg("float8"), pa.float64(), "number"),
        (pg("numeric", precision=10, scale=2), pa.decimal128(10, 2), "number"),
        (pg("numeric", precision=38, scale=0), pa.decimal128(38, 0), "number"),
        (pg("numeric", precision=39, scale=2), pa.large_string(), "string"),
        (pg("numeric"), pa.large_string(), "string"),
        (pg("numeric", precision=5, scale=-2), pa.large_string(), "string"),
        (pg("numeric", precision=3, scale=5), pa.large_string(), "string"),
        (pg("money"), pa.large_string(), "string"),
        (pg("text"), pa.large_string(), "string"),
        (pg("varchar"), pa.large_string(), "string"),
        (pg("bpchar"), pa.large_string(), "string"),
        (pg("uuid"), pa.large_string(), "string"),
        (pg("json"), pa.large_string(), "string"),
        (pg("jsonb"), pa.large_string(), "string"),
        (pg("bytea"), pa.large_binary(), "string"),
        (pg("date"), pa.date32(), "date"),
        (pg("timestamp"), pa.timestamp("us"), "date-time"),
        (pg("timestamptz"), pa.timestamp("us", tz="UTC"), "date-time"),
        (pg("time"), pa.large_string(), "string"),
        (pg("timetz"), pa.large_string(), "string"),
        (pg("interval"), pa.large_string(), "string"),
        (pg("_int4", kind="a"), pa.large_string(), "string"),
        (pg("mood", kind="e"), pa.large_string(), "string"),
        (pg("inet"), pa.large_string(), "string"),
    ],
)
def test_type_table(pg_type: PostgresType, arrow_type: pa.DataType, xdm: str) -> None:
    mapping = map_type(pg_type)
    assert (mapping.arrow_type, mapping.xdm_type, mapping.lossy) == (arrow_type, xdm, False)


@pytest.mark.parametrize(
    ("typmod", "expected"),
    [(-1, (None, None)), (655366, (10, 2)), (3276809, (50, 5)), ((5 << 16 | 2046) + 4, (5, -2))],
)
def test_numeric_modifiers(typmod: int, expected: tuple[int | None, int | None]) -> None:
    assert numeric_modifiers(typmod) == expected


def test_select_items_cast_to_text_only_where_the_driver_would_not_be_exact() -> None:
    assert select_item("a", pg("int4")) == '"a"'
    assert select_item("a", pg("numeric", precision=10, scale=2)) == '"a"::text AS "a"'
    assert select_item("a", pg("numeric")) == '"a"::text AS "a"'
    assert select_item("a", pg("jsonb")) == '"a"'
    assert select_item("a", pg("mood", kind="e")) == '"a"'
    assert select_item("a", pg("uuid")) == '"a"::text AS "a"'
    assert select_item("a", pg("interval")) == '"a"::text AS "a"'
    assert select_item("a", pg("money")) == '"a"::numeric::text AS "a"'
    assert select_item("a", pg("_int4", kind="a")) == 'array_to_json("a")::text AS "a"'
    assert select_item("a", pg("date")) == 'CASE WHEN isfinite("a") THEN "a" END AS "a"'
    assert select_item("a", pg("inet")) == (
        'CASE WHEN "a" IS NULL THEN NULL ELSE concat("a") END AS "a"'
    )
    assert quote_identifier('we"ird') == '"we""ird"'


def test_conform_casts_to_the_promised_schema() -> None:
    numeric = pa.array(["12.30", None, "-0.01"])
    batch = pa.RecordBatch.from_arrays(
        [
            numeric,
            pa.array(["x"]).cast(pa.string()).take([0, 0, 0]),
            pa.array([1, 2, 3], pa.int32()),
        ],
        names=["n", "t", "i"],
    )
    columns = [("n", pg("numeric", precision=10, scale=2)), ("t", pg("text")), ("i", pg("int4"))]
    out = conform(batch, columns)
    assert out.schema.types == [pa.decimal128(10, 2), pa.large_string(), pa.int32()]
    assert out.column(0).to_pylist() == [Decimal("12.30"), None, Decimal("-0.01")]


def test_conform_reports_a_value_a_decimal_cannot_hold() -> None:
    batch = pa.RecordBatch.from_arrays([pa.array(["NaN"])], names=["n"])
    with pytest.raises(PostgresSystemError) as info:
        conform(batch, [("n", pg("numeric", precision=10, scale=2))])
    assert info.value.reason == "value_out_of_range" and "'n'" in info.value.message


@pytest.mark.parametrize("rows", [1, 3, 7, 10, 11])
def test_rebatch_cuts_exact_sizes_and_keeps_order(rows: int) -> None:
    parts = [pa.record_batch({"x": list(range(a, b))}) for a, b in ((0, 4), (4, 5), (5, 10))]
    out = list(rebatch(parts, rows))
    assert [b.num_rows for b in out[:-1]] == [rows] * (len(out) - 1)
    assert 0 < out[-1].num_rows <= rows
    assert [v for b in out for v in b.column(0).to_pylist()] == list(range(10))


def test_key_ranges_cover_every_key_once() -> None:
    ranges = key_ranges("id", -5, 94, parts=4, min_rows=1)
    assert ranges[0] == KeyRange("id", None, 20) and ranges[-1] == KeyRange("id", 70, None)
    for key in range(-100, 200):
        hits = [
            r
            for r in ranges
            if r is not None
            and (r.start is None or key >= r.start)
            and (r.end is None or key < r.end)
        ]
        assert len(hits) == 1
    assert key_ranges("id", 1, 10, parts=4, min_rows=5) == [
        KeyRange("id", None, 6),
        KeyRange("id", 6, None),
    ]
    assert key_ranges("id", None, None, parts=4, min_rows=1) == [None]
    assert key_ranges("id", 1, 1, parts=4, min_rows=1) == [None]


def _column(name: str, pg_type: PostgresType, key: int | None = None) -> CatalogColumn:
    return CatalogColumn(name=name, pg_type=pg_type, nullable=key is None, primary_key_position=key)


def test_integer_key_needs_one_integer_key_column() -> None:
    assert integer_key([_column("id", pg("int8"), 1), _column("v", pg("text"))]) == "id"
    assert integer_key([_column("id", pg("text"), 1)]) is None
    assert integer_key([_column("a", pg("int4"), 1), _column("b", pg("int4"), 2)]) is None
    assert integer_key([_column("a", pg("int4"))]) is None


def test_window_literals_are_utc_and_half_open() -> None:
    tz = _column("at", pg("timestamptz"))
    naive = _column("at", pg("timestamp"))
    moment = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp_literal(moment, tz) == "'2024-01-02 01:04:05.000006+00:00'::timestamptz"
    assert timestamp_literal(moment, naive) == "'2024-01-02 01:04:05.000006'::timestamp"
    assert timestamp_literal(datetime(2024, 1, 2), tz) == "'2024-01-02 00:00:00+00:00'::timestamptz"
    obj = CatalogObject("s", "t", "r")
    sql = read_statement(
        obj,
        [tz, _column("id", pg("int4"), 1)],
        [tz],
        window=ReadWindow("at", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
        key_range=KeyRange("id", 10, 20),
    )
    assert sql.endswith(
        'FROM "s"."t" WHERE "at" >= \'2024-01-01 00:00:00+00:00\'::timestamptz AND '
        '"at" < \'2024-02-01 00:00:00+00:00\'::timestamptz AND "id" >= 10 AND "id" < 20'
    )


def test_window_and_key_columns_are_checked() -> None:
    obj = CatalogObject("s", "t", "r")
    cols = [_column("name", pg("text")), _column("id", pg("int4"), 1)]
    with pytest.raises(SourceConfigError, match="date or time"):
        read_statement(obj, cols, cols, window=ReadWindow("name"), key_range=None)
    with pytest.raises(SourceConfigError, match="not an integer"):
        read_statement(obj, cols, cols, window=None, key_range=KeyRange("name", 1, 2))


def test_name_candidates() -> None:
    assert name_candidates("orders") == [("public", "orders")]
    assert name_candidates("a.b.c") == [("a", "b.c"), ("a.b", "c")]
    assert name_candidates('"My.Schema"."T""x"') == [("My.Schema", 'T"x')]


def test_json_rows() -> None:
    batch = pa.record_batch(
        {
            "d": pa.array([Decimal("1.50")], pa.decimal128(5, 2)),
            "b": pa.array([b"\x00\xff"], pa.large_binary()),
            "t": pa.array([datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)], pa.timestamp("us", "UTC")),
        }
    )
    assert json_rows(batch) == [{"d": "1.50", "b": "AP8=", "t": "2024-01-02T03:04:05+00:00"}]


class FakeDriverError(Exception):
    def __init__(self, text: str, sqlstate: str | None = None) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


NO_HBA_ENTRY = (
    'no pg_hba.conf entry for host "1.2.3.4", user "reader", database "sales", no encryption'
)
SETTINGS = parse_connection_string("Server=db;Database=sales;UID=reader;Password=TopSecret1")


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (FakeDriverError("x", "28P01"), PostgresConfigError, "login_failed"),
        (
            FakeDriverError('FATAL:  password authentication failed for user "reader"'),
            PostgresConfigError,
            "login_failed",
        ),
        (
            FakeDriverError('FATAL:  database "sales" does not exist'),
            PostgresConfigError,
            "unknown_database",
        ),
        (FakeDriverError("x", "3D000"), PostgresConfigError, "unknown_database"),
        (
            FakeDriverError(
                NO_HBA_ENTRY,
                "28000",
            ),
            PostgresConfigError,
            "tls_required",
        ),
        (
            FakeDriverError("FATAL:  " + NO_HBA_ENTRY),
            PostgresConfigError,
            "tls_required",
        ),
        (
            FakeDriverError("server does not support SSL, but SSL was required"),
            PostgresConfigError,
            "tls_unavailable",
        ),
        (
            FakeDriverError("SSL error: certificate verify failed"),
            PostgresConfigError,
            "tls_certificate",
        ),
        (
            FakeDriverError('could not translate host name "db" to address'),
            PostgresConfigError,
            "unknown_host",
        ),
        (FakeDriverError("x", "42501"), PostgresConfigError, "permission_denied"),
        (FakeDriverError("Connection refused"), PostgresTransientError, "refused"),
        (FakeDriverError("timeout expired"), PostgresTransientError, "timeout"),
        (
            FakeDriverError("server closed the connection unexpectedly"),
            PostgresTransientError,
            "lost",
        ),
        (FakeDriverError("x", "40P01"), PostgresTransientError, "deadlock"),
        (FakeDriverError("x", "08006"), PostgresTransientError, "lost"),
        (FakeDriverError("x", "53300"), PostgresTransientError, "server_busy"),
        (
            FakeDriverError("FATAL:  sorry, too many clients already"),
            PostgresTransientError,
            "server_busy",
        ),
        (FakeDriverError("x", "XX000"), PostgresSystemError, "unexpected"),
        (FakeDriverError("something odd"), PostgresSystemError, "unexpected"),
    ],
)
def test_classification(error: Exception, kind: type[Exception], reason: str) -> None:
    found = classify(error, SETTINGS)
    assert type(found) is kind
    assert found.reason == reason  # type: ignore[attr-defined]
    assert "TopSecret1" not in found.message
    assert isinstance(found, SourceConfigError | TransientSourceError | PostgresSystemError)


def test_messages_are_ours_not_the_drivers() -> None:
    leaked = FakeDriverError("password authentication failed; conninfo password=TopSecret1")
    assert "TopSecret1" not in classify(leaked, SETTINGS).message
    assert "TopSecret1" not in classify(FakeDriverError("odd TopSecret1"), SETTINGS).message
