"""Built-in functions: types, collations, GUIDs, clocks, binary conversions."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_helpers import query, scalar, ticks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.contract import SYSTEM_TYPE_IDS, SqlError
from mssql_emulator.engine import DuckDBSession

_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _run(session: DuckDBSession, sql: str) -> None:
    for result in session.execute(sql):
        if result.result_set is not None:
            list(result.result_set.batches)


def test_sysdatetimeoffset_is_now_in_utc(session: DuckDBSession) -> None:
    columns, rows = query(session, "SELECT SYSDATETIMEOFFSET()")
    assert str(columns[0].type) == "datetimeoffset(7)"
    value = rows[0][0]
    assert value["offset"] == 0
    now = ticks(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    assert abs(value["utc"] - now) < 60 * 10_000_000


@pytest.mark.parametrize(("name", "type_id"), sorted(SYSTEM_TYPE_IDS.items()))
def test_type_id_and_type_name_are_inverse(session: DuckDBSession, name: str, type_id: int) -> None:
    assert scalar(session, f"SELECT TYPE_ID('{name}')") == type_id
    assert scalar(session, f"SELECT TYPE_NAME({type_id})") == name
    assert scalar(session, f"SELECT TYPE_ID('sys.{name.upper()}')") == type_id


def test_type_name_of_a_column(session: DuckDBSession) -> None:
    _run(session, "CREATE TABLE typed (a int, b nvarchar(5), c datetime2)")
    _, rows = query(
        session,
        "SELECT TYPE_NAME(system_type_id) FROM sys.columns "
        "WHERE object_id = OBJECT_ID('typed') ORDER BY column_id",
    )
    assert rows == [("int",), ("nvarchar",), ("datetime2",)]
    assert scalar(session, "SELECT TYPE_ID('no_such_type')") is None
    assert scalar(session, "SELECT TYPE_NAME(9999)") is None


def test_newsequentialid_as_a_column_default(session: DuckDBSession) -> None:
    _run(session, "CREATE TABLE keyed (id uniqueidentifier DEFAULT NEWSEQUENTIALID(), x int)")
    _run(session, "INSERT INTO keyed (x) VALUES (1), (2)")
    _, rows = query(session, "SELECT COUNT(DISTINCT id), COUNT(id) FROM keyed")
    assert rows == [(2, 2)]


def test_fn_helpcollations_and_collate(session: DuckDBSession) -> None:
    _, rows = query(
        session,
        "SELECT name, COLLATIONPROPERTY(name, 'LCID') FROM ::fn_helpcollations() "
        "WHERE name = 'SQL_Latin1_General_CP1_CI_AS'",
    )
    assert rows == [("SQL_Latin1_General_CP1_CI_AS", 1033)]
    assert scalar(session, "SELECT N'abc' COLLATE DATABASE_DEFAULT") == "abc"
    assert scalar(session, "SELECT 1 WHERE 'A' COLLATE Latin1_General_CI_AS = 'a'") == 1


def test_objectproperty_and_dynamic_object_id(session: DuckDBSession) -> None:
    _run(session, "CREATE TABLE parent (id int CONSTRAINT pk_parent PRIMARY KEY CLUSTERED)")
    _run(session, "CREATE VIEW parents AS SELECT id FROM parent")
    sql = (
        "SELECT OBJECTPROPERTY(OBJECT_ID(s.name + '.' + o.name), '{}') FROM sys.objects o "
        "JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE o.name = '{}'"
    )
    assert scalar(session, sql.format("CnstIsClustKey", "pk_parent")) == 1
    assert scalar(session, sql.format("CnstIsNonclustKey", "pk_parent")) == 0
    assert scalar(session, sql.format("IsUserTable", "parent")) == 1
    assert scalar(session, sql.format("IsView", "parents")) == 1


@_SETTINGS
@given(data=st.binary(max_size=40), length=st.integers(min_value=1, max_value=60))
def test_binary_casts_cut_and_pad(session: DuckDBSession, data: bytes, length: int) -> None:
    literal = "0x" + data.hex()
    if not data:
        literal = "CAST('' AS varbinary(1))"
    _, rows = query(
        session,
        f"SELECT CAST({literal} AS varbinary({length})), CONVERT(binary({length}), {literal})",
    )
    assert rows == [(data[:length], data[:length].ljust(length, b"\0"))]


def test_string_to_binary_and_back(session: DuckDBSession) -> None:
    columns, rows = query(
        session,
        "SELECT CAST('abc' AS varbinary(10)), CAST(0x010203 AS varchar(max)), 0x414243",
    )
    assert rows == [(b"abc", "\x01\x02\x03", b"ABC")]
    assert [str(c.type) for c in columns] == ["varbinary(10)", "varchar(max)", "varbinary(max)"]


def test_unknown_function_is_195(session: DuckDBSession) -> None:
    with pytest.raises(SqlError) as info:
        _run(session, "SELECT no_such_function(1)")
    assert info.value.number == 195
    assert info.value.message == "'no_such_function' is not a recognized built-in function name."


@_SETTINGS
@given(value=st.integers(min_value=-(2**31), max_value=2**31 - 1), length=st.integers(1, 12))
def test_integers_convert_to_big_endian_bytes(
    session: DuckDBSession, value: int, length: int
) -> None:
    raw = value.to_bytes(4, "big", signed=True)
    _, rows = query(
        session,
        f"SELECT CAST({value} AS binary({length})), CAST({value} AS varbinary({length}))",
    )
    assert rows == [(raw[-length:].rjust(length, b"\0"), raw[-length:])]
