"""User stored procedures through real drivers: RPC calls, OUTPUT parameters, table types."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _pytds(emulator: RunningEmulator) -> Any:
    import pytds

    return pytds.connect(
        emulator.host,
        port=emulator.port,
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        login_timeout=10,
        autocommit=True,
    )


def _mssql_conn(emulator: RunningEmulator) -> Any:
    from pymssql import _mssql

    return _mssql.connect(
        server=emulator.host,
        port=str(emulator.port),
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        tds_version="7.4",
    )


def test_exec_in_a_batch_on_every_driver(emulator: RunningEmulator, driver: Driver) -> None:
    name = _name("twice")
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE PROCEDURE {name} @n int, @out int OUTPUT AS BEGIN SET NOCOUNT ON "
                    "SET @out = @n * 2 SELECT @n AS n RETURN 5 END")  # fmt: skip
        cur.execute(
            f"SET NOCOUNT ON; DECLARE @o int, @rc int; EXEC @rc = {name} 21, @o OUTPUT; "
            "SELECT @o AS o, @rc AS rc"
        )
        assert [tuple(r) for r in cur.fetchall()] == [(21,)]
        assert cur.nextset()
        assert [tuple(r) for r in cur.fetchall()] == [(42, 5)]
        cur.execute(f"DROP PROCEDURE {name}")
        conn.commit()
    finally:
        conn.close()


def test_pytds_callproc_outputs_defaults_and_status(emulator: RunningEmulator) -> None:
    import pytds

    name = _name("testproc")
    conn = _pytds(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            f"create procedure {name} (@param int, @add int = 2, @outparam int output)\n"
            "as\nbegin\n  set nocount on\n  set @outparam = @param + @add\n"
            "  return @outparam\nend"
        )
        values = cur.callproc(name, (45, pytds.default, pytds.output(value=1)))
        assert values[2] == 47
        assert cur.get_proc_return_status() == 47
        values = cur.callproc(name, {"@param": 1, "@add": 5, "@outparam": pytds.output(value=0)})
        assert values[2] == 6
        with pytest.raises(pytds.Error, match="expects parameter '@outparam'"):
            cur.callproc(name, (1,))
        with pytest.raises(pytds.Error, match="Could not find stored procedure"):
            cur.callproc(_name("missing"), (1,))
    finally:
        conn.close()


def test_pytds_output_typed_as_the_caller_declares(emulator: RunningEmulator) -> None:
    import pytds

    name = _name("defaults")
    conn = _pytds(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            f"create procedure {name} (@inparam int, @outint int = 8 output, "
            "@outstr varchar(max) = 'defstr' output) as begin set nocount on "
            "set @outint = isnull(@outint, -10) + @inparam "
            "set @outstr = isnull(@outstr, 'null') + cast(@inparam as varchar(max)) end"
        )
        values = cur.callproc(name, (1, pytds.output(value=4), pytds.output(value="str")))
        assert values == [1, 5, "str1"]
        values = cur.callproc(
            name,
            (
                1,
                pytds.output(value=pytds.default, param_type="bit"),
                pytds.output(value=pytds.default, param_type="varchar(5)"),
            ),
        )
        assert values == [1, 1, "defst"]
    finally:
        conn.close()


def test_pytds_results_then_outputs(emulator: RunningEmulator) -> None:
    import pytds

    name = _name("outres")
    conn = _pytds(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            f"CREATE PROCEDURE {name}(@A INT OUTPUT) AS BEGIN SET @A = 3; "
            "SELECT 4 AS C; SELECT 5 AS C; END;"
        )
        cur.callproc(name, [pytds.output(value=1)])
        assert cur.fetchall() == [(4,)]
        assert cur.get_proc_outputs() == [3]
        cur.execute("select 5")
        assert cur.fetchall() == [(5,)]
    finally:
        conn.close()


def test_pytds_table_valued_parameter(emulator: RunningEmulator) -> None:
    import pytds

    type_name = _name("Category")
    proc = _name("count_rows")
    conn = _pytds(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            f"CREATE TYPE dbo.{type_name} AS TABLE (CategoryID int, CategoryName nvarchar(50))"
        )
        assert cur.execute_scalar(f"select type_id('dbo.{type_name}')") is not None
        rows = [(1, "test1"), (2, "test2")]
        tvp = pytds.TableValuedParam(type_name=f"dbo.{type_name}", rows=iter(rows))
        cur.execute("SELECT * FROM %s", (tvp,))
        assert cur.fetchall() == rows
        cur.execute(
            f"CREATE PROCEDURE {proc} @t dbo.{type_name} READONLY AS "
            "SELECT count(*), max(CategoryName) FROM @t"
        )
        tvp = pytds.TableValuedParam(type_name=f"dbo.{type_name}", rows=iter(rows))
        cur.callproc(proc, (tvp,))
        assert cur.fetchall() == [(2, "test2")]
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("declared", "bind_type", "value"),
    [
        ("bigint", "SQLINT8", 123456789012),
        ("int", "SQLINT4", None),
        ("bit", "SQLBITN", True),
        ("decimal(6, 5)", "SQLDECIMAL", decimal.Decimal("5.12345")),
        ("money", "SQLMONEY", decimal.Decimal("5.12")),
        ("float", "SQLFLT8", 3.25),
        ("datetime", "SQLDATETIME", dt.datetime(2009, 8, 27, 15, 28, 38)),
        ("date", "SQLDATE", dt.date(906, 8, 27)),
        ("varchar(4)", "SQLVARCHAR", "test"),
        ("varbinary(4)", "SQLVARBINARY", b"\xde\xad\xbe\xef"),
    ],
)
def test_pymssql_output_parameters(
    emulator: RunningEmulator, declared: str, bind_type: str, value: Any
) -> None:
    from pymssql import _mssql

    name = _name("echo")
    conn = _mssql_conn(emulator)
    try:
        conn.execute_non_query(
            f"CREATE PROCEDURE [dbo].[{name}] @inp {declared}, @out {declared} output "
            "AS BEGIN SET @out = @inp; RETURN 0; END"
        )
        proc = conn.init_procedure(name)
        sql_type = getattr(_mssql, bind_type)
        proc.bind(value, sql_type, "@inp", null=value is None)
        if "decimal" in declared:  # FreeTDS sizes a decimal output by its initial value
            proc.bind(decimal.Decimal("0.00000"), sql_type, "@out", output=True, max_length=6)
        elif declared == "bit":  # and sends no NULL bit
            proc.bind(False, sql_type, "@out", output=True)
        else:
            proc.bind(None, sql_type, "@out", output=True)
        assert proc.execute() == 0
        assert proc.parameters["@out"] == value
        conn.execute_non_query(f"DROP PROCEDURE [dbo].[{name}]")
    finally:
        conn.close()


def test_pymssql_callproc_and_errors(emulator: RunningEmulator) -> None:
    import pymssql

    name = _name("greet")
    conn = pymssql.connect(
        server=emulator.host,
        port=str(emulator.port),
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        tds_version="7.4",
        autocommit=True,
    )
    try:
        cur = conn.cursor()
        cur.execute(
            f"CREATE PROCEDURE [dbo].[{name}] @some_arg NVARCHAR(64) AS "
            "BEGIN SELECT @some_arg + N'!', N'Здравствуй ' + @some_arg END"
        )
        cur.callproc(name, ("Мир",))
        assert cur.fetchone() == ("Мир!", "Здравствуй Мир")
        cur.execute(f"{name} %s", ("hello",))
        assert cur.fetchone() == ("hello!", "Здравствуй hello")
        cur.execute(f"DROP PROCEDURE [dbo].[{name}]")
        with pytest.raises(pymssql.DatabaseError):
            cur.callproc(name, ("x",))
    finally:
        conn.close()


@pytest.mark.parametrize("driver_name", ["pyodbc-freetds", "mssql-python"])
def test_odbc_call_escape(emulator: RunningEmulator, driver_name: str) -> None:
    """``{CALL p (?)}``: FreeTDS sends an RPC by name, mssql-python sp_prepexecrpc."""
    driver = next(d for d in DRIVERS if d.name == driver_name)
    name = _name("doubled")
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE PROCEDURE {name} @a int, @b nvarchar(10) = N'x' AS SELECT @a * 2, @b")
        conn.commit()
        for value in (21, 5):
            cur.execute(f"{{CALL {name} (?)}}", value)
            assert [tuple(r) for r in cur.fetchall()] == [(value * 2, "x")]
        cur.execute(f"{{CALL {name} (?, ?)}}", 1, "yy")
        assert [tuple(r) for r in cur.fetchall()] == [(2, "yy")]
    finally:
        conn.close()
