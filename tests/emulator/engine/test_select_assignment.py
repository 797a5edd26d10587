"""``SELECT @v = …`` assigns once per row in order; QUOTENAME; sp_tablecollations_100."""

from __future__ import annotations

import pytest
from engine_helpers import query, run, scalar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.engine import DuckDBSession

_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_NAMES = st.text(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")), max_size=6)


def _fill(session: DuckDBSession, rows: list[tuple[int, str | None]]) -> None:
    run(session, "IF OBJECT_ID('t') IS NOT NULL DROP TABLE t")
    run(session, "CREATE TABLE t (k int, name nvarchar(20), x int)")
    for k, name in rows:
        literal = "NULL" if name is None else f"N'{name}'"
        run(session, f"INSERT INTO t VALUES ({k}, {literal}, {k * 3})")


@_SETTINGS
@given(keys=st.lists(st.integers(-1000, 1000), unique=True, max_size=12), data=st.data())
def test_accumulating_assignment_joins_rows_in_order(
    session: DuckDBSession, keys: list[int], data: st.DataObject
) -> None:
    rows = [(k, data.draw(_NAMES)) for k in keys]
    _fill(session, rows)
    got = scalar(
        session,
        "DECLARE @v nvarchar(max); "
        "SELECT @v = COALESCE(@v + ',', '') + name FROM t ORDER BY k; SELECT @v",
    )
    expected = ",".join(name for _, name in sorted(rows)) if rows else None
    assert got == expected


@_SETTINGS
@given(keys=st.lists(st.integers(-1000, 1000), unique=True, max_size=12))
def test_assignment_sums_over_rows(session: DuckDBSession, keys: list[int]) -> None:
    _fill(session, [(k, "n") for k in keys])
    total = scalar(session, "DECLARE @n int = 0; SELECT @n = @n + x FROM t; SELECT @n")
    assert total == sum(3 * k for k in keys)


def test_a_null_row_resets_a_concatenation(session: DuckDBSession) -> None:
    _fill(session, [(1, "a"), (2, None), (3, "c"), (4, "d")])
    got = scalar(
        session,
        "DECLARE @v nvarchar(max); "
        "SELECT @v = COALESCE(@v + ',', '') + name FROM t ORDER BY k; SELECT @v",
    )
    assert got == "c,d"


def test_no_rows_leave_the_variable_and_count_zero(session: DuckDBSession) -> None:
    _fill(session, [(1, "a")])
    _, rows = query(
        session, "DECLARE @n int = 5; SELECT @n = @n + x FROM t WHERE k > 9; SELECT @n, @@ROWCOUNT"
    )
    assert rows == [(5, 0)]


def test_later_assignments_see_earlier_ones_in_the_same_row(session: DuckDBSession) -> None:
    _fill(session, [(1, "a"), (2, "b")])
    _, rows = query(
        session,
        "DECLARE @c int = 0, @v nvarchar(max) = N''; "
        "SELECT @c = @c + 1, @v = @v + CAST(@c AS nvarchar(5)) + name FROM t ORDER BY k; "
        "SELECT @c, @v",
    )
    assert rows == [(2, "1a2b")]


def test_quoted_column_list_as_bulk_copy_builds_it(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE q ([a b] int, [c]]d] int, e int)")
    got = scalar(
        session,
        "DECLARE @cn nvarchar(max); "
        "SELECT @cn = COALESCE(@cn + N', ', N'') + QUOTENAME([name]) FROM sys.all_columns "
        "WHERE [object_id] = OBJECT_ID('q') ORDER BY [column_id] ASC; SELECT @cn",
    )
    assert got == "[a b], [c]]d], [e]"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("QUOTENAME('abc')", "[abc]"),
        ("QUOTENAME('a]b')", "[a]]b]"),
        ("QUOTENAME('a[b')", "[a[b]"),
        ("QUOTENAME(N'x''y', '''')", "'x''y'"),
        ("QUOTENAME('ab', '\"')", '"ab"'),
        ("QUOTENAME('a)b', '(')", "(a))b)"),
        ("QUOTENAME('a>b', '>')", "<a>>b>"),
        ("QUOTENAME('ab', ']')", "[ab]"),
        ("QUOTENAME('ab', 'x')", None),
        ("QUOTENAME(NULL)", None),
        ("QUOTENAME(REPLICATE('a', 128))", "[" + "a" * 128 + "]"),
        ("QUOTENAME(REPLICATE('a', 129))", None),
    ],
)
def test_quotename(session: DuckDBSession, sql: str, expected: str | None) -> None:
    assert scalar(session, f"SELECT {sql}") == expected


def test_quotename_with_a_variable_quote_character(session: DuckDBSession) -> None:
    assert scalar(session, "DECLARE @q char(1) = '{'; SELECT QUOTENAME('a}', @q)") == "{a}}}"


def test_all_columns_has_graph_type(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE g (a int, b int)")
    _, rows = query(
        session,
        "SELECT name, COALESCE(graph_type, 0) FROM sys.all_columns "
        "WHERE object_id = OBJECT_ID('g') ORDER BY column_id",
    )
    assert rows == [("a", 0), ("b", 0)]


def test_tablecollations_lists_columns_with_text_collations(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE c (a int, b nvarchar(10), v varchar(max))")
    columns, rows = query(session, "EXEC sp_tablecollations_100 N'[dbo].[c]'")
    assert [c.name for c in columns] == ["colid", "name", "tds_collation", "collation"]
    text = (bytes.fromhex("0904d00034"), "SQL_Latin1_General_CP1_CI_AS")
    assert rows == [(1, "a", None, None), (2, "b", *text), (3, "v", *text)]
    assert query(session, "EXEC sp_tablecollations_100 N'missing'")[1] == []
