"""A variable or parameter read back by SELECT has the type it was declared with."""

from __future__ import annotations

import decimal
import uuid
from typing import Any

import pytest
from drivers import DRIVERS, Driver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.testing import RunningEmulator

D = decimal.Decimal
PROPERTIES = ("BaseType", "Precision", "Scale", "MaxLength")
# (declared type, a literal assigned to it)
DECLARED = [
    ("uniqueidentifier", "'cf4314b6-afd8-4ce7-9f23-702e73f6116f'"),
    ("varchar(10)", "'abc'"),
    ("char(4)", "'ab'"),
    ("nvarchar(20)", "N'Iñtërnâtiôn'"),
    ("decimal(38,38)", "0.5"),
    ("decimal(9,2)", "12.5"),
    ("decimal(20,0)", "12"),
    ("money", "1.25"),
    ("tinyint", "7"),
    ("smallint", "7"),
    ("bigint", "7"),
    ("float", "0.5"),
    ("bit", "1"),
    ("date", "'2011-02-03'"),
    ("datetime", "'2011-02-03 10:11:12.003'"),
    ("datetime2(3)", "'2011-02-03 10:11:12.125'"),
    ("time(2)", "'10:11:12.25'"),
    ("varbinary(8)", "0x0102"),
]
PYTDS = next(d for d in DRIVERS if d.name == "pytds")
READERS = [d for d in DRIVERS if d.name in ("pytds", "mssql-python")]


def _props(expression: str) -> str:
    return ", ".join(
        f"CAST(SQL_VARIANT_PROPERTY({expression}, '{p}') AS nvarchar(128))" for p in PROPERTIES
    )


def _read(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], list[Any]]:
    cur = conn.cursor()
    cur.execute(sql, params) if params else cur.execute(sql)
    row = cur.fetchone()
    assert row is not None
    return list(row), [tuple(d[1:]) for d in cur.description]


@pytest.mark.parametrize("driver", READERS, ids=lambda d: d.name)
@pytest.mark.parametrize("case", DECLARED, ids=lambda c: c[0])
def test_declared_variable_reads_back_as_a_cast_to_its_type(
    emulator: RunningEmulator, driver: Driver, case: tuple[str, str]
) -> None:
    declared, literal = case
    cast = f"CAST({literal} AS {declared})"
    conn = driver.connect(emulator)
    try:
        variable = _read(conn, f"DECLARE @v {declared} = {literal}; SELECT @v AS v, {_props('@v')}")
        expected = _read(conn, f"SELECT {cast} AS v, {_props(cast)}")
        assert variable == expected
        assert variable[0][1] == declared.split("(")[0]
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("value", "base", "precision", "scale"),
    [
        (uuid.UUID("cf4314b6-afd8-4ce7-9f23-702e73f6116f"), "uniqueidentifier", "0", "0"),
        (D("0.12345678901234567890123456789012345678"), "decimal", "38", "38"),
        (D("12.5"), "decimal", "3", "1"),
        ("abc", "nvarchar", "0", "0"),
    ],
)
def test_rpc_parameter_reads_back_with_the_type_the_client_declared(
    emulator: RunningEmulator, value: Any, base: str, precision: str, scale: str
) -> None:
    conn = PYTDS.connect(emulator)
    try:
        row, description = _read(
            conn, f"SELECT %s, {_props('%s')}".replace("'%s'", "'%%s'"), (value,) * 5
        )
        assert row[0] == value
        assert row[1:4] == [base, precision, scale]
        assert description[0][0] == {"uniqueidentifier": 36, "decimal": 106}.get(base, 99)
    finally:
        conn.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), precision=st.integers(min_value=1, max_value=38))
def test_declared_decimal_keeps_its_precision_and_scale(
    emulator: RunningEmulator, data: st.DataObject, precision: int
) -> None:
    scale = data.draw(st.integers(min_value=0, max_value=precision))
    digits = data.draw(st.integers(min_value=0, max_value=10**precision - 1))
    value = D(f"{digits}E-{scale}")  # exact: scaleb would round to the context's 28 digits
    conn = PYTDS.connect(emulator)
    try:
        row, description = _read(
            conn,
            f"DECLARE @v decimal({precision},{scale}) = {value:f}; SELECT @v, {_props('@v')}",
        )
        assert row == [value, "decimal", str(precision), str(scale), row[4]]
        assert description[0][3:5] == (precision, scale)
    finally:
        conn.close()
