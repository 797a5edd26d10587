"""User stored procedures and table types on the engine: DDL, EXEC, catalog views, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from engine_helpers import query, results, scalar

from mssql_emulator.contract import Param, SqlError, SqlType
from mssql_emulator.engine import DuckDBEngine, DuckDBSession

TESTPROC = """
create procedure testproc (@param int, @add int = 2, @outparam int output)
as
begin
    set nocount on
    --select @param
    set @outparam = @param + @add
    return @outparam
end
"""


def _run(session: DuckDBSession, sql: str) -> None:
    results(session, sql)


def _error(session: DuckDBSession, sql: str, params: list[Param] | None = None) -> SqlError:
    with pytest.raises(SqlError) as info:
        results(session, sql, params)
    return info.value


def test_output_default_and_return_status(session: DuckDBSession) -> None:
    _run(session, TESTPROC)
    row = query(
        session,
        "DECLARE @o int, @rc int; EXEC @rc = testproc 5, DEFAULT, @o OUTPUT; SELECT @o, @rc",
    )[1][0]
    assert row == (7, 7)
    row = query(
        session,
        "DECLARE @o int; EXEC testproc @outparam = @o OUT, @add = 10, @param = 1; SELECT @o",
    )[1][0]
    assert row == (11,)


def test_call_yields_results_then_status_and_outputs(session: DuckDBSession) -> None:
    _run(
        session,
        "CREATE PROCEDURE dbo.two (@a int, @b varchar(10) OUTPUT) AS BEGIN "
        "SELECT @a AS a; SELECT 'x' AS b; SET @b = 'abc'; RETURN 3 END",
    )
    out = results(session, "DECLARE @s varchar(2); EXEC two 1, @s OUTPUT; SELECT @s AS s")
    assert [rows for _, rows in out if rows] == [[{"a": 1}], [{"b": "x"}], [{"s": "ab"}]]
    final = [r for r, _ in out if r.return_status is not None]
    assert len(final) == 1 and final[0].return_status == 3
    assert final[0].outputs is not None
    assert [c.name for c in final[0].outputs.columns] == ["@b"]
    assert final[0].outputs.columns[0].type == SqlType("varchar", length=2)


def test_body_without_begin_if_else_and_return(session: DuckDBSession) -> None:
    _run(
        session,
        "CREATE PROC sign_of @n int AS\n"
        "IF @n > 0\n  RETURN 1\nELSE IF @n < 0\n  BEGIN\n    SELECT 'neg' AS s\n"
        "    RETURN -1\n  END\nRETURN 0",
    )
    for n, status in ((5, 1), (-2, -1), (0, 0)):
        assert scalar(session, f"DECLARE @r int; EXEC @r = sign_of {n}; SELECT @r") == status


def test_procedure_variables_are_its_own(session: DuckDBSession) -> None:
    _run(session, "CREATE PROCEDURE p @x int AS BEGIN DECLARE @y int = @x * 2; SELECT @y END")
    assert scalar(session, "DECLARE @y int = 1; EXEC p 4; SELECT @y") == 1
    _run(session, "CREATE PROCEDURE q AS SELECT @y")  # the body is bound when it runs
    assert _error(session, "EXEC q").number == 137


def test_dml_in_procedure_and_nested_call(session: DuckDBSession) -> None:
    _run(session, "CREATE TABLE t (id int, v nvarchar(10))")
    _run(
        session,
        "CREATE PROCEDURE add_row @id int, @v nvarchar(10) AS BEGIN "
        "INSERT INTO t VALUES (@id, @v); UPDATE t SET v = v + '!' WHERE id = @id END",
    )
    _run(
        session,
        "CREATE PROCEDURE add_two @n int OUTPUT AS BEGIN EXEC add_row 1, 'a'; "
        "EXEC add_row 2, N'b'; SELECT @n = count(*) FROM t END",
    )
    assert scalar(session, "DECLARE @n int; EXEC add_two @n OUTPUT; SELECT @n") == 2
    assert query(session, "SELECT id, v FROM t ORDER BY id")[1] == [(1, "a!"), (2, "b!")]


def test_bare_procedure_name_runs_it(session: DuckDBSession) -> None:
    _run(session, "CREATE PROCEDURE echo @s nvarchar(20) AS SELECT @s + N'!'")
    assert scalar(session, "echo N'hi'") == "hi!"
    assert scalar(session, "echo NULL") is None


@pytest.mark.parametrize(
    ("call", "number"),
    [
        ("EXEC testproc 1", 201),
        ("EXEC testproc", 201),
        ("DECLARE @o int; EXEC testproc 1, 2, @o OUTPUT, 4", 8144),
        ("EXEC testproc @nope = 1", 8145),
        ("DECLARE @o int; EXEC testproc @param = 1, 2, @o OUTPUT", 119),
        ("DECLARE @o int; EXEC testproc @o OUTPUT, 1, @o OUTPUT", 8162),
        ("EXEC testproc 1, 2, 3 OUTPUT", 179),
        ("EXEC nothere", 2812),
        ("EXEC dbo.nothere 1", 2812),
        ("EXEC testproc 1, 2, @undeclared OUTPUT", 137),
    ],
)
def test_call_errors(session: DuckDBSession, call: str, number: int) -> None:
    _run(session, TESTPROC)
    assert _error(session, call).number == number


def test_ddl_errors_and_alter(session: DuckDBSession) -> None:
    _run(session, TESTPROC)
    assert _error(session, TESTPROC).number == 2714
    _run(session, "CREATE TABLE tab (a int)")
    assert _error(session, "CREATE PROCEDURE tab AS SELECT 1").number == 2714
    assert _error(session, "ALTER PROCEDURE missing AS SELECT 1").number == 208
    assert _error(session, "DROP PROCEDURE missing").number == 3701
    assert _error(session, "DROP PROCEDURE tab").number == 3705
    assert _error(session, "CREATE PROCEDURE nobody.p AS SELECT 1").number == 2760
    assert _error(session, "CREATE PROCEDURE p @a int, @a int AS SELECT 1").number == 134
    assert _error(session, "CREATE PROCEDURE p @t dbo.NoSuchType READONLY AS SELECT 1").number == (
        2715
    )
    _run(session, "DROP PROCEDURE IF EXISTS missing")
    _run(session, "ALTER PROCEDURE testproc @a int AS SELECT @a * 3 AS x")
    assert scalar(session, "EXEC testproc 2") == 6
    _run(session, "CREATE OR ALTER PROCEDURE testproc AS SELECT 'v2' AS x")
    assert scalar(session, "EXEC testproc") == "v2"
    _run(session, "DROP PROCEDURE testproc")
    assert _error(session, "EXEC testproc").number == 2812


def test_catalog_views(session: DuckDBSession) -> None:
    _run(session, "CREATE SCHEMA myschema")
    _run(session, TESTPROC)
    _run(session, "CREATE PROCEDURE myschema.other @s nvarchar(50) = N'x' AS SELECT @s")
    routines = query(
        session,
        "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE FROM INFORMATION_SCHEMA.ROUTINES "
        "ORDER BY ROUTINE_NAME",
    )[1]
    assert routines == [("myschema", "other", "PROCEDURE"), ("dbo", "testproc", "PROCEDURE")]
    parameters = query(
        session,
        "SELECT PARAMETER_NAME, ORDINAL_POSITION, PARAMETER_MODE, DATA_TYPE "
        "FROM INFORMATION_SCHEMA.PARAMETERS WHERE SPECIFIC_NAME = 'testproc' "
        "ORDER BY ORDINAL_POSITION",
    )[1]
    assert parameters == [
        ("@param", 1, "IN", "int"),
        ("@add", 2, "IN", "int"),
        ("@outparam", 3, "INOUT", "int"),
    ]
    oid = scalar(session, "SELECT OBJECT_ID('testproc', 'P')")
    assert oid is not None
    assert scalar(session, "SELECT OBJECT_ID('dbo.testproc')") == oid
    assert scalar(session, "SELECT OBJECT_ID('testproc', 'U')") is None
    assert query(session, "SELECT name, type FROM sys.objects WHERE object_id = " + str(oid))[
        1
    ] == [("testproc", "P")]
    assert scalar(session, "SELECT count(*) FROM sys.procedures") == 2
    params = query(
        session,
        f"SELECT name, is_output, has_default_value FROM sys.parameters WHERE object_id = {oid} "
        "ORDER BY parameter_id",
    )[1]
    assert params == [("@param", False, False), ("@add", False, True), ("@outparam", True, False)]
    definition = scalar(session, f"SELECT definition FROM sys.sql_modules WHERE object_id = {oid}")
    assert "set @outparam = @param + @add" in definition


def test_procedures_are_shared_by_sessions(
    session_factory: Callable[..., DuckDBSession],
) -> None:
    first, second = session_factory(), session_factory()
    _run(first, TESTPROC)
    assert scalar(second, "DECLARE @o int; EXEC testproc 1, 1, @o OUTPUT; SELECT @o") == 2


def test_create_procedure_rolls_back(session: DuckDBSession) -> None:
    _run(session, "BEGIN TRANSACTION")
    _run(session, TESTPROC)
    _run(session, "ROLLBACK")
    assert _error(session, "EXEC testproc 1").number == 2812
    assert scalar(session, "SELECT count(*) FROM INFORMATION_SCHEMA.ROUTINES") == 0


def test_procedures_survive_a_restart(tmp_path: Path) -> None:
    engine = DuckDBEngine(["db1"], str(tmp_path))
    session = engine.open_session("db1", "sa")
    _run(session, TESTPROC)
    _run(session, "CREATE TYPE dbo.Pairs AS TABLE (a int, b nvarchar(5))")
    engine.close()
    engine = DuckDBEngine(["db1"], str(tmp_path))
    try:
        session = engine.open_session("db1", "sa")
        assert scalar(session, "DECLARE @o int; EXEC testproc 40, DEFAULT, @o OUTPUT; SELECT @o")
        assert scalar(session, "SELECT TYPE_ID('dbo.Pairs')") is not None
    finally:
        engine.close()


def test_return_outside_a_procedure_ends_the_batch(session: DuckDBSession) -> None:
    out = results(session, "SELECT 1 AS a; RETURN; SELECT 2 AS b")
    assert [rows for _, rows in out] == [[{"a": 1}]]


def test_table_types(session: DuckDBSession) -> None:
    _run(session, "CREATE TYPE dbo.CategoryTableType AS TABLE (CategoryID int, Name nvarchar(50))")
    type_id = scalar(session, "SELECT TYPE_ID('dbo.CategoryTableType')")
    assert type_id is not None and type_id >= 257
    assert scalar(session, "SELECT TYPE_ID('int')") == 56
    rows = query(session, "SELECT name, is_table_type, is_user_defined FROM sys.table_types")[1]
    assert rows == [("CategoryTableType", True, True)]
    assert scalar(session, "SELECT count(*) FROM sys.types WHERE is_table_type = 1") == 1
    error = _error(session, "CREATE TYPE dbo.CategoryTableType AS TABLE (a int)")
    assert error.number == 219
    _run(session, "DROP TYPE dbo.CategoryTableType")
    assert scalar(session, "SELECT TYPE_ID('dbo.CategoryTableType')") is None
    assert _error(session, "DROP TYPE dbo.CategoryTableType").number == 218
    _run(session, "DROP TYPE IF EXISTS dbo.CategoryTableType")


def test_table_valued_parameter(session: DuckDBSession) -> None:
    _run(session, "CREATE TYPE dbo.Pairs AS TABLE (id int, name nvarchar(5))")
    _run(
        session,
        "CREATE PROCEDURE count_pairs @rows dbo.Pairs READONLY, @n int OUTPUT AS "
        "SELECT @n = count(*) FROM @rows",
    )
    rows = pa.table({"c0": [1, 2], "c1": ["ab", "cd"]}).replace_schema_metadata(
        {b"type_name": b"dbo.Pairs"}
    )
    param = Param("@P1", SqlType("table"), rows)
    assert query(session, "SELECT id, name FROM @P1 ORDER BY id", [param])[1] == [
        (1, "ab"),
        (2, "cd"),
    ]
    sql = "DECLARE @n int; EXEC count_pairs @P1, @n OUTPUT; SELECT @n"
    assert scalar(session, sql, [param]) == 2


def test_sp_helptext_and_bare_identifier_arguments(session: DuckDBSession) -> None:
    _run(session, "CREATE PROCEDURE shout @s varchar(10) AS\nSELECT upper(@s) AS s")
    lines = query(session, "EXEC sp_helptext shout")[1]
    assert lines == [("CREATE PROCEDURE shout @s varchar(10) AS\n",), ("SELECT upper(@s) AS s",)]
    assert scalar(session, "EXEC shout hello") == "HELLO"
    assert _error(session, "EXEC sp_helptext nothing").number == 15009
    _run(session, "CREATE TABLE plain (a int)")
    assert _error(session, "EXEC sp_helptext plain").number == 15197


def test_create_procedure_must_start_its_batch(session: DuckDBSession) -> None:
    error = _error(session, "SELECT 1\nCREATE PROCEDURE late AS SELECT 2")
    assert (error.number, error.line) == (111, 2)
    assert _error(session, "EXEC late").number == 2812


def test_empty_table_valued_parameter_and_type_clash(session: DuckDBSession) -> None:
    _run(session, "CREATE TYPE dbo.Ids AS TABLE (id int)")
    _run(session, "CREATE PROCEDURE how_many @ids dbo.Ids READONLY AS SELECT count(*) FROM @ids")
    _run(session, "CREATE PROCEDURE plain_int @i int AS SELECT @i")
    empty = pa.table({}).replace_schema_metadata({b"type_name": b"dbo.Ids"})
    param = Param("@P1", SqlType("table"), empty)
    assert scalar(session, "EXEC how_many @P1", [param]) == 0
    assert scalar(session, "EXEC how_many") == 0  # a table-valued parameter defaults to empty
    assert _error(session, "EXEC plain_int @P1", [param]).number == 206
