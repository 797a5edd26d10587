"""READ UNCOMMITTED sees other sessions' uncommitted rows; READ COMMITTED does not."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine_helpers import query, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.engine import DuckDBEngine, DuckDBSession

Factory = Callable[..., DuckDBSession]
ORDERED = "SELECT id, v FROM items ORDER BY id"


def _setup(session_factory: Factory) -> tuple[DuckDBSession, DuckDBSession, DuckDBSession]:
    writer, dirty, committed = session_factory(), session_factory(), session_factory()
    run(writer, "CREATE TABLE items (id int PRIMARY KEY, v varchar(10))")
    run(writer, "INSERT INTO items VALUES (1, 'a'), (2, 'b')")
    run(dirty, "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
    return writer, dirty, committed


def test_uncommitted_changes_are_read_until_rolled_back(session_factory: Factory) -> None:
    writer, dirty, committed = _setup(session_factory)
    run(writer, "BEGIN TRAN")
    run(writer, "INSERT INTO items VALUES (3, 'c'); UPDATE items SET v = 'B' WHERE id = 2")
    run(writer, "DELETE FROM items WHERE id = 1")
    assert query(dirty, ORDERED)[1] == [(2, "B"), (3, "c")]
    assert query(dirty, "SELECT COUNT(*) FROM items i JOIN items j ON j.id = i.id")[1] == [(2,)]
    assert query(committed, ORDERED)[1] == [(1, "a"), (2, "b")]
    run(writer, "ROLLBACK")
    assert query(dirty, ORDERED)[1] == [(1, "a"), (2, "b")]


def test_a_reader_in_its_own_transaction_reads_them_too(session_factory: Factory) -> None:
    writer, dirty, _ = _setup(session_factory)
    run(dirty, "BEGIN TRAN")
    run(writer, "BEGIN TRAN; INSERT INTO items VALUES (3, 'c')")
    assert query(dirty, "SELECT MAX(id) FROM items")[1] == [(3,)]
    run(writer, "COMMIT")
    assert query(dirty, "SELECT MAX(id) FROM items")[1] == [(3,)]
    run(dirty, "COMMIT")


def test_a_busy_writer_is_not_waited_for(engine: DuckDBEngine, session_factory: Factory) -> None:
    writer, dirty, _ = _setup(session_factory)
    run(writer, "BEGIN TRAN; INSERT INTO items VALUES (3, 'c')")
    busy = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with writer._lock:  # as while the writer runs a request of its own
            busy.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    busy.wait(10)
    try:
        assert query(dirty, ORDERED)[1] == [(1, "a"), (2, "b")]
    finally:
        release.set()
        holder.join()
    assert query(dirty, ORDERED)[1] == [(1, "a"), (2, "b"), (3, "c")]


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(3, 12), st.text("xyz", max_size=3)),
        st.tuples(st.just("update"), st.integers(1, 12), st.text("xyz", max_size=3)),
        st.tuples(st.just("delete"), st.integers(1, 12), st.just("")),
    ),
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS, commit=st.booleans())
def test_the_dirty_reader_sees_what_the_writer_sees(
    engine: DuckDBEngine, ops: list[tuple[str, int, str]], commit: bool
) -> None:
    writer, dirty, committed = (engine.open_session("testdb", "sa") for _ in range(3))
    try:
        run(writer, "IF OBJECT_ID('items') IS NOT NULL DROP TABLE items")
        run(writer, "CREATE TABLE items (id int PRIMARY KEY, v varchar(10))")
        run(writer, "INSERT INTO items VALUES (1, 'a'), (2, 'b')")
        before = query(committed, ORDERED)[1]
        run(dirty, "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        run(writer, "BEGIN TRAN")
        for op, key, value in ops:
            if op == "insert" and query(writer, f"SELECT 1 FROM items WHERE id = {key}")[1]:
                continue
            run(
                writer,
                {
                    "insert": f"INSERT INTO items VALUES ({key}, '{value}')",
                    "update": f"UPDATE items SET v = '{value}' WHERE id = {key}",
                    "delete": f"DELETE FROM items WHERE id = {key}",
                }[op],
            )
        inside = query(writer, ORDERED)[1]
        assert query(dirty, ORDERED)[1] == inside
        assert query(committed, ORDERED)[1] == before
        run(writer, "COMMIT" if commit else "ROLLBACK")
        assert query(dirty, ORDERED)[1] == (inside if commit else before)
    finally:
        for s in (writer, dirty, committed):
            s.close()
