"""Dynamic SQL in a batch: ``EXEC sp_executesql`` and ``EXEC (string)``, through real drivers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from drivers import DRIVERS, Driver
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mssql_emulator.testing import RunningEmulator

INT = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@pytest.fixture(
    params=[d for d in DRIVERS if d.name in ("pytds", "mssql-python")], ids=lambda d: d.name
)
def conn(request: pytest.FixtureRequest, emulator: RunningEmulator) -> Iterator[Any]:
    driver: Driver = request.param
    connection = driver.connect(emulator)
    try:
        yield connection
    finally:
        connection.close()


def _results(cur: Any, batch: str) -> list[list[tuple[Any, ...]]]:
    """The rows of each result set the batch produced, in order."""
    cur.execute(batch)
    out = []
    while True:
        if cur.description:
            out.append([tuple(row) for row in cur.fetchall()])
        if not cur.nextset():
            return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=INT, b=st.integers(min_value=-1000, max_value=1000))
def test_executesql_binds_its_parameters_and_returns_outputs(conn: Any, a: int, b: int) -> None:
    cursor = conn.cursor()
    assume(-(2**31) <= a + b < 2**31)  # int overflow (8115) is not this test's matter
    batch = (
        "DECLARE @sum int, @text nvarchar(40); "
        "EXEC sp_executesql N'SELECT @s = @a + @b, @t = CONCAT(@a, N''|'', @b)', "
        f"N'@a int, @b int, @s int OUTPUT, @t nvarchar(40) OUTPUT', {a}, @b = {b}, "
        "@s = @sum OUTPUT, @t = @text OUTPUT; "
        "SELECT @sum, @text"
    )
    assert _results(cursor, batch)[-1] == [(a + b, f"{a}|{b}")]


def test_executesql_runs_a_statement_held_in_a_variable(conn: Any) -> None:
    cursor = conn.cursor()
    table = f"dyn_{uuid.uuid4().hex[:8]}"
    cursor.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name nvarchar(20))")
    cursor.execute(f"INSERT INTO {table} VALUES (1, N'one'), (2, N'two'), (3, N'three')")
    conn.commit()
    batch = (
        "DECLARE @sql nvarchar(max) = "
        f"N'SELECT name FROM {table} WHERE id >= @low ORDER BY id'; "
        "EXEC sp_executesql @sql, N'@low int', @low = 2"
    )
    assert _results(cursor, batch) == [[("two",), ("three",)]]
    assert _results(cursor, "EXEC sp_executesql N'SELECT 7 AS n'") == [[(7,)]]


def test_exec_string_runs_in_a_scope_of_its_own(conn: Any) -> None:
    cursor = conn.cursor()
    table = f"dyn_{uuid.uuid4().hex[:8]}"
    cursor.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    conn.commit()
    batch = (
        f"DECLARE @columns nvarchar(100) = N'id, id * 2 AS twice'; "
        f"INSERT INTO {table} VALUES (4); "
        f"EXEC (N'SELECT ' + @columns + N' FROM {table}'); "
        "EXECUTE('SELECT 1 AS a; SELECT 2 AS b')"
    )
    assert _results(cursor, batch) == [[(4, 8)], [(1,)], [(2,)]]
    # the outer batch's variables are not visible inside, as in SQL Server
    with pytest.raises(Exception, match="Must declare the scalar variable"):
        _results(cursor, "DECLARE @c int = 1; EXEC('SELECT @c')")
    assert _results(cursor, "SELECT 5") == [[(5,)]]


def test_dynamic_sql_errors_are_sql_servers(conn: Any) -> None:
    cursor = conn.cursor()
    with pytest.raises(Exception, match="expects parameter '@statement'"):
        _results(cursor, "EXEC sp_executesql")
    with pytest.raises(Exception, match="@q is not a parameter"):
        _results(cursor, "EXEC sp_executesql N'SELECT 1', N'@p int', @q = 1")
    with pytest.raises(Exception, match="Invalid column name 'nope'"):
        _results(cursor, "EXEC ('SELECT nope FROM sys.objects')")
    assert _results(cursor, "EXEC sp_executesql NULL; EXEC (''); SELECT 6") == [[(6,)]]
