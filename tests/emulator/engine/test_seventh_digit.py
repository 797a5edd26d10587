"""time(7) in the engine: TIME_NS storage, ns Arrow results, parameters and procedures."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from engine_helpers import arrow, run, scalar

from mssql_emulator.contract import Param, SqlType
from mssql_emulator.engine import DuckDBSession

TIME7 = SqlType("time", scale=7)


def test_time7_yields_nanoseconds_and_lower_scales_microseconds(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE t (a time(7), b time(3), c time)")
    run(
        session, "INSERT INTO t VALUES ('01:02:03.1234567', '01:02:03.1234567', '00:00:00.0000001')"
    )
    table = arrow(session, "SELECT a, b, c FROM t")
    assert table.schema.types == [pa.time64("ns"), pa.time64("us"), pa.time64("ns")]
    assert table.column("a").cast(pa.int64()).to_pylist() == [3_723_123_456_700]
    assert table.column("b").cast(pa.int64()).to_pylist() == [3_723_123_000]
    assert table.column("c").cast(pa.int64()).to_pylist() == [100]


@pytest.mark.parametrize(
    ("value", "text"),
    [("01:02:03.4567891", "01:02:03.4567891"), (dt.time(1, 2, 3, 456789), "01:02:03.4567890")],
)
def test_parameters_of_time7(session: DuckDBSession, value: object, text: str) -> None:
    params = [Param("@p", TIME7, value)]
    assert scalar(session, "SELECT CAST(@p AS varchar(30))", params) == text
    run(session, "CREATE TABLE p (t time(7))")
    run(session, "INSERT INTO p VALUES (@p)", params)
    assert scalar(session, "SELECT CAST(COUNT(*) AS int) FROM p WHERE t = @p", params) == 1
    moved = scalar(session, "SELECT CAST(DATEADD(ms, 1, @p) AS varchar(30))", params)
    assert moved == text[:9] + str(int(text[9:12]) + 1).zfill(3) + text[12:]


def test_procedure_argument_keeps_seven_digits(session: DuckDBSession) -> None:
    run(session, "CREATE PROCEDURE show7 @t time(7) AS SELECT CAST(@t AS varchar(30)) AS v")
    assert scalar(session, "EXEC show7 '23:59:59.9999999'") == "23:59:59.9999999"
    assert scalar(session, "EXEC show7 @t = '00:00:00.0000001'") == "00:00:00.0000001"


def test_time7_variable_rounds_once_to_a_lower_scale(session: DuckDBSession) -> None:
    sql = "DECLARE @a time(7) = '12:34:56.1234995'; "
    assert scalar(session, sql + "SELECT CAST(@a AS varchar(30))") == "12:34:56.1234995"
    assert scalar(session, sql + "SELECT CAST(CAST(@a AS time(3)) AS varchar(30))") == (
        "12:34:56.123"
    )


def test_nested_dateadd_and_comparison_with_time3(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE n (t7 time(7), t3 time(3))")
    run(session, "INSERT INTO n VALUES ('01:00:00.0000001', '01:00:00.500')")
    nested = "SELECT CAST(DATEADD(hour, 1, DATEADD(ns, 100, t7)) AS varchar(30)) FROM n"
    assert scalar(session, nested) == "02:00:00.0000002"
    compared = "SELECT CAST(COUNT(*) AS int) FROM n WHERE DATEADD(ms, 600, t7) > t3"
    assert scalar(session, compared) == 1


def test_set_and_declare_keep_the_seventh_digit(session: DuckDBSession) -> None:
    text = scalar(
        session,
        "DECLARE @t time(7) = CAST('01:02:03.9999999' AS time(7)); DECLARE @u time(7); "
        "SET @u = DATEADD(nanosecond, 100, @t); "
        "SELECT CAST(@t AS varchar(16)) + ' ' + CAST(@u AS varchar(16))",
    )
    assert text == "01:02:03.9999999 01:02:04.0000000"
