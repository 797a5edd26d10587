"""DDL, DML and SELECT features run directly against the engine."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_helpers import param, query, run, scalar

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import DuckDBEngine, DuckDBSession


@pytest.fixture
def people(session: DuckDBSession) -> DuckDBSession:
    run(
        session,
        """
        CREATE TABLE [dbo].[people] (
            id INT IDENTITY(1,1) NOT NULL,
            name NVARCHAR(50) NOT NULL,
            team VARCHAR(10) NULL DEFAULT 'none',
            score DECIMAL(10,2),
            CONSTRAINT PK_people PRIMARY KEY CLUSTERED (id ASC)
        )
        INSERT INTO people (name, team, score) VALUES
            (N'Ann', 'red', 10.5), (N'Bob', 'blue', 7), (N'Cy', 'red', NULL), (N'Di', 'blue', 3.25)
    """,
    )
    return session


def test_create_insert_select_reports_declared_types(people: DuckDBSession) -> None:
    columns, rows = query(people, "SELECT * FROM people ORDER BY id")
    assert [(c.name, str(c.type), c.nullable, c.identity) for c in columns] == [
        ("id", "int", False, True),
        ("name", "nvarchar(50)", False, False),
        ("team", "varchar(10)", True, False),
        ("score", "decimal(10,2)", True, False),
    ]
    assert [r[:2] for r in rows] == [(1, "Ann"), (2, "Bob"), (3, "Cy"), (4, "Di")]


def test_insert_reports_rowcount_and_identity(people: DuckDBSession) -> None:
    results = run(people, "INSERT INTO dbo.people (name) VALUES (N'Eve')")
    assert results[0].rowcount == 1
    assert scalar(people, "SELECT SCOPE_IDENTITY()") == 5
    assert scalar(people, "SELECT @@IDENTITY") == 5
    assert scalar(people, "SELECT team FROM people WHERE id = 5") == "none"


def test_top_offset_fetch_order_by(people: DuckDBSession) -> None:
    _, rows = query(people, "SELECT TOP 2 name FROM people ORDER BY score DESC")
    assert rows == [("Ann",), ("Bob",)]
    _, rows = query(
        people, "SELECT name FROM people ORDER BY id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY"
    )
    assert rows == [("Bob",), ("Cy",)]


def test_parameters_bind_by_name(people: DuckDBSession) -> None:
    _, rows = query(
        people,
        "SELECT name FROM people WHERE team = @P1 AND score > @P2 ORDER BY name",
        [param("@P1", "varchar(10)", "red"), param("@P2", "int", 5)],
    )
    assert rows == [("Ann",)]
    _, rows = query(people, "SELECT name FROM people WHERE id = @id", [param("@id", "int", 2)])
    assert rows == [("Bob",)]


def test_group_by_join_and_aggregates(people: DuckDBSession) -> None:
    run(people, "CREATE TABLE teams (code VARCHAR(10) PRIMARY KEY, label NVARCHAR(20))")
    run(people, "INSERT INTO teams VALUES ('red', N'Reds'), ('blue', N'Blues')")
    _, rows = query(
        people,
        """
        SELECT t.label, COUNT(*) AS n, SUM(p.score) AS total
        FROM people AS p JOIN teams t ON t.code = p.team
        GROUP BY t.label ORDER BY t.label""",
    )
    assert rows == [("Blues", 2, pytest.approx(10.25)), ("Reds", 2, pytest.approx(10.5))]


def test_update_and_delete(people: DuckDBSession) -> None:
    assert run(people, "UPDATE people SET score = score + 1 WHERE team = 'red'")[0].rowcount == 2
    assert scalar(people, "SELECT score FROM people WHERE id = 1") == pytest.approx(11.5)
    assert run(people, "DELETE FROM people WHERE score IS NULL")[0].rowcount == 1
    assert scalar(people, "SELECT COUNT(*) FROM people") == 3
    assert scalar(people, "SELECT @@ROWCOUNT") == 1


def test_insert_select_and_multi_statement_batch(people: DuckDBSession) -> None:
    results = run(
        people,
        """
        CREATE TABLE copy (id INT, name NVARCHAR(50))
        INSERT INTO copy (id, name) SELECT id, name FROM people WHERE team = 'blue'
        SELECT COUNT(*) FROM copy""",
    )
    assert results[1].rowcount == 2
    assert scalar(people, "SELECT name FROM copy WHERE id = 4") == "Di"


def test_builtin_functions(people: DuckDBSession) -> None:
    _, rows = query(
        people,
        """
        SELECT ISNULL(score, 0), COALESCE(NULL, team), REPLICATE('ab', 3),
               CAST(score AS INT), CONVERT(VARCHAR(3), name), LEN(name), UPPER(name)
        FROM people WHERE id = 3""",
    )
    assert rows == [(0, "red", "ababab", None, "Cy", 2, "CY")]
    now = scalar(people, "SELECT GETDATE()")
    assert isinstance(now, dt.datetime)
    assert abs(now - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)
    utc = scalar(people, "SELECT SYSUTCDATETIME()")
    assert abs(utc - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)
    assert scalar(people, "SELECT 7 / 2") == 3
    assert scalar(people, "SELECT 'a' + 'b' + name FROM people WHERE id = 1") == "abAnn"


def test_bracket_quoted_and_multi_part_names(people: DuckDBSession) -> None:
    assert scalar(people, "SELECT COUNT(*) FROM [testdb].[dbo].[people]") == 4
    assert scalar(people, 'SELECT COUNT(*) FROM "dbo"."people"') == 4
    assert scalar(people, "SELECT COUNT(*) FROM testdb..people") == 4
    assert scalar(people, "SELECT [p].[name] FROM dbo.people AS [p] WHERE [p].[id] = 2") == "Bob"


def test_schemas_views_and_indexes(people: DuckDBSession) -> None:
    run(people, "CREATE SCHEMA sales")
    run(people, "CREATE TABLE sales.orders (id BIGINT PRIMARY KEY, amount MONEY)")
    run(people, "INSERT INTO sales.orders VALUES (1, 9.99)")
    run(people, "CREATE VIEW sales.big AS SELECT id, amount FROM sales.orders WHERE amount > 1")
    columns, rows = query(people, "SELECT * FROM sales.big")
    assert [str(c.type) for c in columns] == ["bigint", "money"]
    assert rows[0][0] == 1
    run(people, "CREATE NONCLUSTERED INDEX ix_team ON dbo.people (team, score DESC)")
    run(people, "CREATE UNIQUE INDEX ux_name ON dbo.people (name)")
    with pytest.raises(SqlError) as err:
        run(people, "INSERT INTO people (name) VALUES (N'Ann')")
    assert err.value.number == 2601
    run(people, "DROP INDEX ix_team ON dbo.people")
    run(people, "DROP VIEW sales.big")
    run(people, "DROP TABLE sales.orders")
    with pytest.raises(SqlError) as err:
        run(people, "SELECT * FROM sales.orders")
    assert err.value.number == 208


def test_use_changes_database_with_message(session: DuckDBSession) -> None:
    results = run(session, "USE [otherdb]")
    assert results[0].database == "otherdb"
    assert results[0].messages[0].number == 5701
    assert results[0].messages[0].message == "Changed database context to 'otherdb'."
    assert session.database == "otherdb"
    assert scalar(session, "SELECT DB_NAME()") == "otherdb"
    with pytest.raises(SqlError) as err:
        run(session, "USE nosuchdb")
    assert err.value.number == 911


def test_driver_connect_batches(session: DuckDBSession) -> None:
    # pymssql's batch of SET options, then SQLAlchemy's probes.
    run(
        session,
        "SET ARITHABORT ON;SET CONCAT_NULL_YIELDS_NULL ON;SET ANSI_NULLS ON;"
        "SET ANSI_NULL_DFLT_ON ON;SET ANSI_PADDING ON;SET ANSI_WARNINGS ON;"
        "SET QUOTED_IDENTIFIER ON;SET TEXTSIZE 2147483647;SET NOCOUNT ON",
    )
    version = scalar(session, "select @@version")
    assert version.startswith("Microsoft SQL Server 2022 (RTM) - 16.0.")
    assert scalar(session, "SELECT CAST(SERVERPROPERTY('ProductVersion') AS VARCHAR)").startswith(
        "16.0"
    )
    assert scalar(session, "SELECT SERVERPROPERTY('EngineEdition')") == 3
    assert scalar(session, "SELECT schema_name()") == "dbo"
    spid = scalar(session, "SELECT @@SPID")
    level = scalar(
        session,
        f"""
        SELECT CASE transaction_isolation_level WHEN 0 THEN 'UNSPECIFIED'
               WHEN 2 THEN 'READ COMMITTED' END AS TRANSACTION_ISOLATION_LEVEL
        FROM sys.dm_exec_sessions WHERE session_id = {spid}""",
    )
    assert level == "READ COMMITTED"
    assert (
        scalar(session, "SELECT name FROM sys.system_views WHERE name = 'dm_exec_sessions'")
        == "dm_exec_sessions"
    )
    columns, rows = query(session, "SELECT CAST('test max support' AS NVARCHAR(max))")
    assert rows == [("test max support",)] and str(columns[0].type) == "nvarchar(max)"
    assert scalar(session, "SELECT @@TRANCOUNT") == 0
    columns, rows = query(session, "sp_datatype_info_100 12,3")
    assert columns[0].name == "TYPE_NAME" and len(columns) == 20
    assert [(r[0], r[2], r[5]) for r in rows] == [("varchar", 8000, "max length")]
    _, rows = query(session, "EXEC sp_datatype_info_100 @data_type = 93, @ODBCVer = 3")
    # datetime first: pyodbc sizes datetime parameters from this row (three digits)
    assert [(r[0], r[2], r[14]) for r in rows] == [
        ("datetime", 23, 3),
        ("smalldatetime", 16, 0),
        ("datetime2", 27, 7),
    ]
    _, rows = query(session, "EXEC sp_datatype_info 11")  # ODBC 2's code for timestamps
    assert [r[0] for r in rows] == ["datetime", "smalldatetime", "datetime2"]
    _, rows = query(session, "EXEC sp_datatype_info_100 0, 3")
    codes = [r[1] for r in rows]
    assert codes == sorted(codes) and {"int", "nvarchar", "datetimeoffset"} <= {r[0] for r in rows}


def test_declare_and_set_variables(session: DuckDBSession) -> None:
    _, rows = query(session, "DECLARE @x INT = 5, @s NVARCHAR(10) SET @s = N'hi' SELECT @x + 1, @s")
    assert rows == [(6, "hi")]
    with pytest.raises(SqlError) as err:
        run(session, "SELECT @undeclared")
    assert err.value.number == 137


def test_object_functions(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE dbo.thing (id INT)")
    oid = scalar(session, "SELECT OBJECT_ID('dbo.thing')")
    assert isinstance(oid, int)
    assert scalar(session, "SELECT OBJECT_ID('[dbo].[thing]', 'U')") == oid
    assert scalar(session, "SELECT OBJECT_ID('nothing')") is None
    assert scalar(session, f"SELECT OBJECT_NAME({oid})") == "thing"
    assert scalar(session, "SELECT SCHEMA_NAME(1)") == "dbo"


def test_run_script_splits_on_go(engine: DuckDBEngine, session: DuckDBSession) -> None:
    engine.run_script(
        "testdb",
        "CREATE TABLE g (a INT)\ngo\nINSERT INTO g VALUES (1)\nGO 3\nINSERT INTO g VALUES (2)",
    )
    assert scalar(session, "SELECT SUM(a) FROM g") == 5


def test_result_column_types_inferred_for_expressions(session: DuckDBSession) -> None:
    columns, _ = query(
        session,
        "SELECT 1 AS a, CAST(1.5 AS DECIMAL(5,1)) AS b, N'x' AS c, "
        "CAST(GETDATE() AS DATE) AS d, CAST(1 AS BIGINT) AS e",
    )
    assert [c.type for c in columns] == [
        SqlType("int"),
        SqlType("decimal", precision=5, scale=1),
        SqlType("nvarchar", length=-1),
        SqlType("date"),
        SqlType("bigint"),
    ]


def test_load_arrow_and_bulk_insert_select(engine: DuckDBEngine, session: DuckDBSession) -> None:
    import pyarrow as pa

    run(session, "CREATE TABLE big (id INT NOT NULL PRIMARY KEY, label NVARCHAR(20))")
    engine.load_arrow(
        "testdb",
        "dbo.big",
        pa.table(
            {
                "id": pa.array(range(1000), pa.int32()),
                "label": pa.array([f"row {i}" for i in range(1000)]),
            }
        ),
    )
    assert scalar(session, "SELECT COUNT(*) FROM big") == 1000
    run(session, "CREATE TABLE nums (n BIGINT)")
    run(session, "INSERT INTO nums (n) SELECT value FROM GENERATE_SERIES(1, 100000)")
    assert scalar(session, "SELECT MAX(n) FROM nums") == 100000


def test_if_guards_the_next_statement(session: DuckDBSession) -> None:
    script = (
        "IF OBJECT_ID('dbo.guarded') IS NOT NULL DROP TABLE dbo.guarded\n"
        "CREATE TABLE dbo.guarded (a INT)\n"
        "IF NOT EXISTS (SELECT 1 FROM dbo.guarded) INSERT INTO dbo.guarded VALUES (1)\n"
        "IF 1 = 0 INSERT INTO dbo.guarded VALUES (2)\n"
        "SELECT CASE WHEN COUNT(*) = 1 THEN 'one' ELSE 'other' END FROM dbo.guarded"
    )
    assert scalar(session, script) == "one"
    assert scalar(session, script) == "one"


def test_string_comparison_is_case_insensitive(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE ci (v NVARCHAR(10))")
    run(session, "INSERT INTO ci VALUES (N'Alpha'), (N'beta')")
    assert scalar(session, "SELECT COUNT(*) FROM ci WHERE v = 'ALPHA'") == 1
    _, rows = query(session, "SELECT v FROM ci ORDER BY v DESC")
    assert rows == [("beta",), ("Alpha",)]


def test_alter_table_add_drop_and_alter_columns(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE evolve (id INT PRIMARY KEY, old_col VARCHAR(5))")
    run(session, "INSERT INTO evolve VALUES (1, 'x')")
    run(session, "ALTER TABLE evolve ADD added NVARCHAR(20) NULL, flag BIT NOT NULL DEFAULT 1")
    columns, rows = query(session, "SELECT * FROM evolve")
    assert [(c.name, str(c.type)) for c in columns] == [
        ("id", "int"),
        ("old_col", "varchar(5)"),
        ("added", "nvarchar(20)"),
        ("flag", "bit"),
    ]
    assert rows == [(1, "x", None, True)]
    run(session, "ALTER TABLE dbo.evolve DROP COLUMN old_col")
    run(session, "ALTER TABLE evolve ALTER COLUMN flag INT NULL")
    _, rows = query(
        session,
        "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, ORDINAL_POSITION "
        "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'evolve' "
        "ORDER BY ORDINAL_POSITION",
    )
    assert rows == [
        ("id", "int", "NO", 1),
        ("added", "nvarchar", "YES", 2),
        ("flag", "int", "YES", 3),
    ]
    with pytest.raises(SqlError) as err:
        run(session, "ALTER TABLE evolve DROP COLUMN id")
    assert err.value.number == 5074


def test_if_else_and_begin_end_blocks(session: DuckDBSession) -> None:
    script = """
        IF OBJECT_ID('dbo.blocky') IS NULL
        BEGIN
            CREATE TABLE dbo.blocky (a INT, b VARCHAR(10))
            INSERT INTO dbo.blocky VALUES (1, CASE WHEN 1 = 1 THEN 'yes' ELSE 'no' END)
        END
        ELSE
            INSERT INTO dbo.blocky VALUES (2, 'again')
        IF 1 = 0 SELECT 'never' ELSE SELECT b FROM dbo.blocky WHERE a = 1
    """
    _, rows = query(session, script)
    assert rows == [("yes",)]
    query(session, script)
    assert scalar(session, "SELECT COUNT(*) FROM dbo.blocky") == 2


def test_output_clause_returns_rows(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE outp (id INT IDENTITY PRIMARY KEY, name NVARCHAR(10))")
    columns, rows = query(
        session, "INSERT INTO outp (name) OUTPUT inserted.id, inserted.name VALUES (N'a'), (N'b')"
    )
    assert [(c.name, str(c.type), c.identity) for c in columns] == [
        ("id", "int", True),
        ("name", "nvarchar(10)", False),
    ]
    assert rows == [(1, "a"), (2, "b")]
    _, rows = query(session, "UPDATE outp SET name = N'z' OUTPUT inserted.name WHERE id = 2")
    assert rows == [("z",)]
    _, rows = query(session, "DELETE FROM outp OUTPUT deleted.id WHERE id = 1")
    assert rows == [(1,)]


def test_parameters_with_shared_prefixes(session: DuckDBSession) -> None:
    params = [param(f"@P{i}", "int", i) for i in range(1, 12)]
    assert scalar(session, "SELECT @P10 + @P11", params) == 21
    assert scalar(session, "SELECT @P1", params) == 1


def test_object_id_of_parameter_and_national_literal(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE dbo.one (a INT)")
    run(session, "CREATE TABLE dbo.two (a INT)")
    sql = "SELECT OBJECT_NAME(OBJECT_ID(@P1))"
    assert scalar(session, sql, [param("@P1", "nvarchar(20)", "dbo.one")]) == "one"
    assert scalar(session, sql, [param("@P1", "nvarchar(20)", "dbo.two")]) == "two"
    assert scalar(session, "SELECT OBJECT_NAME(OBJECT_ID(N'[dbo].[two]'))") == "two"


def test_select_into_creates_a_typed_table(session: DuckDBSession) -> None:
    results = run(
        session,
        "SELECT value AS id, CAST(value AS DECIMAL(10,2)) AS amount, "
        "CAST(CONCAT('n', value) AS NVARCHAR(20)) AS label "
        "INTO dbo.made FROM GENERATE_SERIES(1, 5000)",
    )
    assert results[0].rowcount == 5000
    columns, rows = query(session, "SELECT TOP 1 * FROM made ORDER BY id DESC")
    assert [str(c.type) for c in columns] == ["bigint", "decimal(10,2)", "nvarchar(20)"]
    assert rows[0][2] == "n5000"
    assert (
        scalar(
            session,
            "SELECT DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
            "WHERE TABLE_NAME = 'made' AND COLUMN_NAME = 'label'",
        )
        == "nvarchar"
    )
