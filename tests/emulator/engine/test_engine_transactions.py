"""Per-session transactions over real DuckDB connections, isolation, and cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from engine_helpers import run, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession

Factory = Callable[..., DuckDBSession]


@pytest.fixture
def pair(session_factory: Factory) -> tuple[DuckDBSession, DuckDBSession]:
    a, b = session_factory(), session_factory()
    run(a, "CREATE TABLE acct (id INT PRIMARY KEY, amount INT)")
    run(a, "INSERT INTO acct VALUES (1, 100)")
    return a, b


def test_uncommitted_changes_are_invisible_to_other_sessions(
    pair: tuple[DuckDBSession, DuckDBSession],
) -> None:
    a, b = pair
    run(a, "BEGIN TRAN")
    assert a.in_transaction and scalar(a, "SELECT @@TRANCOUNT") == 1
    run(a, "UPDATE acct SET amount = 50 WHERE id = 1")
    assert scalar(a, "SELECT amount FROM acct") == 50
    assert scalar(b, "SELECT amount FROM acct") == 100
    run(a, "COMMIT TRAN")
    assert not a.in_transaction
    assert scalar(b, "SELECT amount FROM acct") == 50


def test_rollback_discards_changes(pair: tuple[DuckDBSession, DuckDBSession]) -> None:
    a, b = pair
    a.begin()
    run(a, "INSERT INTO acct VALUES (2, 1)")
    a.rollback()
    assert scalar(b, "SELECT COUNT(*) FROM acct") == 1
    assert scalar(a, "SELECT COUNT(*) FROM acct") == 1


def test_nested_begin_counts_and_commit_api(pair: tuple[DuckDBSession, DuckDBSession]) -> None:
    a, b = pair
    a.begin()
    run(a, "BEGIN TRANSACTION")
    assert scalar(a, "SELECT @@TRANCOUNT") == 2
    run(a, "INSERT INTO acct VALUES (3, 3)")
    a.commit()
    assert scalar(b, "SELECT COUNT(*) FROM acct") == 1
    a.commit()
    assert scalar(b, "SELECT COUNT(*) FROM acct") == 2


def test_autocommit_makes_each_statement_visible(pair: tuple[DuckDBSession, DuckDBSession]) -> None:
    a, b = pair
    run(a, "INSERT INTO acct VALUES (4, 4)")
    assert scalar(b, "SELECT COUNT(*) FROM acct") == 2


def test_ddl_rolled_back_leaves_catalog_clean(session: DuckDBSession) -> None:
    run(session, "BEGIN TRAN")
    run(session, "CREATE TABLE temp_t (a INT)")
    assert scalar(session, "SELECT COUNT(*) FROM temp_t") == 0
    run(session, "ROLLBACK")
    with pytest.raises(SqlError) as err:
        run(session, "SELECT * FROM temp_t")
    assert err.value.number == 208
    assert (
        scalar(
            session, "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'temp_t'"
        )
        == 0
    )


def test_sessions_run_concurrently_in_threads(session_factory: Factory) -> None:
    setup = session_factory()
    run(setup, "CREATE TABLE hits (worker INT, n INT)")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            s = session_factory()
            for n in range(20):
                run(s, f"INSERT INTO hits VALUES ({worker}, {n})")
                scalar(s, "SELECT COUNT(*) FROM hits")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert scalar(setup, "SELECT COUNT(*) FROM hits") == 80


def test_cancel_interrupts_a_running_query(session: DuckDBSession) -> None:
    timer = threading.Timer(0.3, session.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(SqlError):
        run(
            session,
            "SELECT COUNT(*) FROM GENERATE_SERIES(1, 2000000000) a "
            "CROSS JOIN GENERATE_SERIES(1, 100) b WHERE a.value % 7 = b.value",
        )
    timer.join()
    assert time.monotonic() - started < 30
    assert scalar(session, "SELECT 1") == 1


def test_streaming_select_reads_batches_lazily(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE big (n BIGINT)")
    run(session, "INSERT INTO big SELECT value FROM GENERATE_SERIES(1, 300000)")
    result = next(iter(session.execute("SELECT n FROM big")))
    assert result.result_set is not None
    sizes = [b.num_rows for b in result.result_set.batches]
    assert len(sizes) > 1 and sum(sizes) == 300000
    assert result.rowcount == 300000


def _fails(session: DuckDBSession, sql: str) -> SqlError:
    with pytest.raises(SqlError) as info:
        run(session, sql)
    return info.value


def test_statement_error_keeps_the_transaction(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE k (id int PRIMARY KEY)")
    run(session, "BEGIN TRAN")
    run(session, "INSERT INTO k VALUES (1)")
    assert _fails(session, "INSERT INTO k VALUES (1)").number == 2627
    assert session.trancount == 1
    run(session, "COMMIT")
    assert scalar(session, "SELECT COUNT(*) FROM k") == 1


@pytest.mark.parametrize(
    ("failing", "number"),
    [
        ("CREATE TABLE k (x int)", 2714),
        ("SELECT CAST('x' AS int)", 245),
        ("SELECT CAST('2024-02-30' AS date)", 241),
    ],
)
def test_dooming_errors_roll_back_the_transaction(
    session: DuckDBSession, failing: str, number: int
) -> None:
    run(session, "CREATE TABLE k (id int)")
    run(session, "BEGIN TRAN")
    run(session, "INSERT INTO k VALUES (1)")
    run(session, "CREATE TABLE made_in_transaction (id int)")
    assert _fails(session, failing).number == number
    assert session.trancount == 0
    assert scalar(session, "SELECT @@TRANCOUNT") == 0
    assert scalar(session, "SELECT COUNT(*) FROM k") == 0
    run(session, "CREATE TABLE made_in_transaction (id int)")  # its creation was undone


def test_xact_abort_on_rolls_back_on_any_error(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE k (id int PRIMARY KEY)")
    run(session, "SET XACT_ABORT ON")
    run(session, "BEGIN TRAN")
    run(session, "INSERT INTO k VALUES (1)")
    assert _fails(session, "INSERT INTO k VALUES (1)").number == 2627
    assert session.trancount == 0
    assert scalar(session, "SELECT COUNT(*) FROM k") == 0
    run(session, "SET XACT_ABORT OFF")
    run(session, "BEGIN TRAN")
    run(session, "INSERT INTO k VALUES (1)")
    _fails(session, "INSERT INTO k VALUES (1)")
    assert session.trancount == 1
    run(session, "COMMIT")
    assert scalar(session, "SELECT COUNT(*) FROM k") == 1


@pytest.mark.parametrize(
    ("statement", "level"),
    [
        ("READ UNCOMMITTED", 1),
        ("READ COMMITTED", 2),
        ("REPEATABLE READ", 3),
        ("SERIALIZABLE", 4),
        ("SNAPSHOT", 5),
    ],
)
def test_isolation_level_is_shown_in_dm_exec_sessions(
    session: DuckDBSession, statement: str, level: int
) -> None:
    run(session, f"SET TRANSACTION ISOLATION LEVEL {statement}")
    sql = "SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID"
    assert scalar(session, sql) == level


def test_begin_may_set_the_isolation_level(session: DuckDBSession) -> None:
    session.begin(4)  # a TDS transaction-manager BEGIN carries the level
    assert session.isolation_level == 4
    session.rollback()
    session.begin()
    assert session.isolation_level == 4  # 0 (the default) keeps the level
    session.commit()
