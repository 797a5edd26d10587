"""Every SQL Server type read back exactly by each driver, as literals and as parameters."""

from __future__ import annotations

import uuid
import zlib
from typing import Any

import pytest
from drivers import DRIVERS, Driver
from type_samples import SAMPLES, create_table_sql, insert_rows_sql

from mssql_emulator.testing import RunningEmulator

# What each driver cannot carry, verified against the values the server received:
# pymssql formats datetimes client-side with milliseconds. pyodbc binds TIME without
# fractions and aware datetimes without their offset; over FreeTDS it also drops datetime
# fractions and cuts string parameters at 4000 characters, over Microsoft's driver it sends
# the three digits that the server's type catalog (sp_datatype_info_100) gives datetime.
PARAM_LIMITS: dict[str, set[str]] = {
    "pymssql": {"c_datetime2", "c_time", "c_datetimeoffset"},
    "pyodbc-freetds": {
        "c_time",
        "c_datetime",
        "c_datetime2",
        "c_datetimeoffset",
        "c_varchar_max",
        "c_nvarchar_max",
    },
    "pyodbc-msodbc18": {"c_time", "c_datetime2", "c_datetimeoffset"},
}


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


def _normalize(value: Any) -> Any:
    # pyodbc returns uniqueidentifier as its canonical string
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    return value


def _param(driver: Driver, value: Any) -> Any:
    if driver.name == "pytds" and isinstance(value, bytes):
        import pytds

        return pytds.Binary(value)
    return value


def test_every_type_reads_back_exactly(emulator: RunningEmulator, driver: Driver) -> None:
    table = f"types_{uuid.uuid4().hex[:8]}"
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(create_table_sql(table))
        cur.execute(insert_rows_sql(table))
        conn.commit()
        cur.execute(f"SELECT * FROM {table} ORDER BY id")
        full, empty = cur.fetchall()
        got = {name: _normalize(v) for (name, *_), v in zip(SAMPLES, full[1:], strict=True)}
        assert got == {name: value for name, _, _, value in SAMPLES}
        assert list(empty) == [2] + [None] * len(SAMPLES)
    finally:
        conn.close()


def test_every_type_round_trips_as_a_parameter(emulator: RunningEmulator, driver: Driver) -> None:
    table = f"ptypes_{uuid.uuid4().hex[:8]}"
    skip = PARAM_LIMITS.get(driver.name, set())
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(create_table_sql(table))
        conn.commit()
        mismatches = {}
        for name, _sql_type, _literal, value in SAMPLES:
            if name in skip:
                continue
            key = zlib.crc32(name.encode()) % 100000
            cur.execute(
                driver.sql(f"INSERT INTO {table} (id, {name}) VALUES (?, ?)"),
                (key, _param(driver, value)),
            )
            conn.commit()
            cur.execute(driver.sql(f"SELECT {name} FROM {table} WHERE id = ?"), (key,))
            got = _normalize(cur.fetchone()[0])
            if got != value:
                mismatches[name] = (got, value)
        assert mismatches == {}
    finally:
        conn.close()


def test_xml_is_sent_as_xml(emulator: RunningEmulator) -> None:
    """TDS type 0xF1 (241) for xml columns, variables and casts, and sys.types lists it."""
    conn = next(d for d in DRIVERS if d.name == "pytds").connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            "DECLARE @x xml = N'<v/>'; "
            "SELECT @x, CAST('<c/>' AS xml), CAST(CAST('<d/>' AS xml) AS nvarchar(max))"
        )
        assert cur.fetchall() == [("<v/>", "<c/>", "<d/>")]
        assert [d[1] for d in cur.description] == [241, 241, 99]
        cur.execute("SELECT name, system_type_id, max_length FROM sys.types WHERE name = 'xml'")
        assert cur.fetchall() == [("xml", 241, -1)]
        table = f"x_{uuid.uuid4().hex[:8]}"
        cur.execute(f"CREATE TABLE {table} (d xml, s varchar(5))")
        cur.execute(
            "SELECT name, collation_name FROM sys.columns "
            f"WHERE object_id = OBJECT_ID('{table}') ORDER BY column_id"
        )
        assert cur.fetchall() == [("d", None), ("s", "SQL_Latin1_General_CP1_CI_AS")]
        cur.execute(f"EXEC sp_tablecollations_100 '{table}'")
        assert [row[3] for row in cur.fetchall()] == [None, "SQL_Latin1_General_CP1_CI_AS"]
    finally:
        conn.close()
