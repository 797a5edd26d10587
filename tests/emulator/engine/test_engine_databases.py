"""System databases, CREATE/DROP DATABASE and names reaching into other databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import query, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBEngine, DuckDBSession

Factory = Callable[..., DuckDBSession]


def _run(session: DuckDBSession, sql: str) -> None:
    for result in session.execute(sql):
        if result.result_set is not None:
            list(result.result_set.batches)


def _error(session: DuckDBSession, sql: str) -> SqlError:
    with pytest.raises(SqlError) as info:
        _run(session, sql)
    return info.value


@pytest.mark.parametrize(
    ("name", "database_id"), [("master", 1), ("tempdb", 2), ("model", 3), ("msdb", 4)]
)
def test_system_databases_always_exist_with_their_ids(
    session: DuckDBSession, name: str, database_id: int
) -> None:
    assert scalar(session, f"SELECT DB_ID('{name}')") == database_id
    assert scalar(session, f"SELECT DB_NAME({database_id})") == name
    _run(session, f"USE {name}")
    assert scalar(session, "SELECT DB_NAME()") == name


def test_user_databases_are_numbered_from_5(session: DuckDBSession) -> None:
    assert scalar(session, "SELECT DB_ID()") == 5
    assert scalar(session, "SELECT DB_ID('otherdb')") == 6


def test_sys_databases_lists_system_and_user_databases_by_id(session: DuckDBSession) -> None:
    _, rows = query(session, "SELECT name, database_id FROM sys.databases")
    assert rows == [
        ("master", 1),
        ("tempdb", 2),
        ("model", 3),
        ("msdb", 4),
        ("testdb", 5),
        ("otherdb", 6),
    ]


def test_login_to_a_system_database(engine: DuckDBEngine) -> None:
    session = engine.open_session("msdb", "sa")
    try:
        assert scalar(session, "SELECT DB_NAME()") == "msdb"
    finally:
        session.close()


def test_create_use_and_drop_a_database(session_factory: Factory) -> None:
    session = session_factory()
    _run(session, "CREATE DATABASE [shop]")
    assert scalar(session, "SELECT DB_ID('shop')") == 7
    _run(session, "USE shop")
    _run(session, "CREATE TABLE items (id int)")
    _run(session, "INSERT INTO items VALUES (1), (2)")
    _run(session, "USE testdb")
    assert scalar(session, "SELECT COUNT(*) FROM shop.dbo.items") == 2
    assert scalar(session, "SELECT COUNT(*) FROM shop..items") == 2
    assert scalar(session, "SELECT COUNT(*) FROM shop.sys.tables") == 1
    _run(session, "DROP DATABASE shop")
    assert scalar(session, "SELECT DB_ID('shop')") is None
    assert _error(session, "SELECT * FROM shop.dbo.items").number == 208
    _run(session, "CREATE DATABASE shop")  # the name is free again, and the database empty
    assert scalar(session, "SELECT COUNT(*) FROM shop.sys.tables") == 0


def test_database_errors(session_factory: Factory) -> None:
    session = session_factory()
    assert _error(session, "CREATE DATABASE testdb").number == 1801
    error = _error(session, "DROP DATABASE nowhere")
    assert (error.number, error.severity) == (3701, 11)
    _run(session, "DROP DATABASE IF EXISTS nowhere")
    assert _error(session, "DROP DATABASE master").number == 3708
    assert _error(session, "DROP DATABASE testdb").number == 3702  # the session uses it
    other = session_factory("otherdb")
    assert _error(session, "DROP DATABASE otherdb").number == 3702
    other.close()
    _run(session, "DROP DATABASE otherdb")
    error = _error(session, "USE otherdb")
    assert error.number == 911


def test_create_database_inside_a_transaction_is_226(session: DuckDBSession) -> None:
    _run(session, "BEGIN TRAN")
    error = _error(session, "CREATE DATABASE later")
    assert error.number == 226
    assert "not allowed within multi-statement transaction" in error.message
