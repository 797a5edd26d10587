"""FOREIGN KEY enforcement: error 547 as SQL Server raises it, and the referential actions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from engine_helpers import query, run, scalar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBEngine, DuckDBSession

PARENT_CHILD = (
    "CREATE TABLE dbo.parent (id INT PRIMARY KEY, name VARCHAR(10));"
    "CREATE TABLE dbo.child (id INT PRIMARY KEY, parent_id INT NULL "
    "CONSTRAINT FK_child_parent REFERENCES dbo.parent (id){actions});"
    "INSERT INTO dbo.parent VALUES (1, 'a'), (2, 'b');"
)
INSERT_CONFLICT = (
    'The INSERT statement conflicted with the FOREIGN KEY constraint "FK_child_parent". '
    'The conflict occurred in database "testdb", table "dbo.parent", column \'id\'.'
)


def _setup(session: DuckDBSession, actions: str = "") -> DuckDBSession:
    run(session, PARENT_CHILD.format(actions=actions))
    return session


def _error(session: DuckDBSession, sql: str) -> SqlError:
    with pytest.raises(SqlError) as err:
        run(session, sql)
    return err.value


def _rows(session: DuckDBSession, sql: str) -> list[tuple[object, ...]]:
    return query(session, sql)[1]


@pytest.fixture
def linked(session: DuckDBSession) -> DuckDBSession:
    return _setup(session)


def test_insert_without_parent_raises_547(linked: DuckDBSession) -> None:
    error = _error(linked, "INSERT INTO child VALUES (1, 7)")
    assert (error.number, error.severity, error.state) == (547, 16, 0)
    assert error.message == INSERT_CONFLICT
    assert scalar(linked, "SELECT COUNT(*) FROM child") == 0


def test_insert_with_parent_or_null_key_passes(linked: DuckDBSession) -> None:
    run(linked, "INSERT INTO child VALUES (1, 1), (2, NULL), (3, 2)")
    run(linked, "INSERT INTO child (id) VALUES (4)")
    assert scalar(linked, "SELECT COUNT(*) FROM child") == 4


def test_failing_multi_row_insert_leaves_no_rows(linked: DuckDBSession) -> None:
    _error(linked, "INSERT INTO child VALUES (1, 1), (2, 2), (3, 3)")
    _error(linked, "INSERT INTO child SELECT id + 10, id + 1 FROM parent")
    assert scalar(linked, "SELECT COUNT(*) FROM child") == 0


def test_insert_select_and_variables_are_checked(linked: DuckDBSession) -> None:
    run(linked, "INSERT INTO child SELECT id, id FROM parent")
    run(linked, "DECLARE @p INT = 2; INSERT INTO child VALUES (5, @p)")
    error = _error(linked, "DECLARE @p INT = 9; INSERT INTO child VALUES (6, @p)")
    assert error.number == 547
    assert scalar(linked, "SELECT COUNT(*) FROM child") == 3


def test_update_of_child_without_parent_raises_547(linked: DuckDBSession) -> None:
    run(linked, "INSERT INTO child VALUES (1, 1), (2, 2)")
    error = _error(linked, "UPDATE child SET parent_id = parent_id + 5")
    assert error.message == INSERT_CONFLICT.replace("INSERT", "UPDATE")
    assert _rows(linked, "SELECT id, parent_id FROM child ORDER BY id") == [(1, 1), (2, 2)]
    run(linked, "UPDATE child SET parent_id = 2 WHERE id = 1")
    run(linked, "UPDATE child SET parent_id = NULL WHERE id = 2")
    assert _rows(linked, "SELECT id, parent_id FROM child ORDER BY id") == [(1, 2), (2, None)]


def test_update_of_other_columns_is_not_checked(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE p (id INT PRIMARY KEY)")
    run(session, "CREATE TABLE c (id INT PRIMARY KEY, n INT, pid INT REFERENCES p (id))")
    run(session, "INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 0, 1)")
    run(session, "UPDATE c SET n = n + 1")
    assert scalar(session, "SELECT n FROM c") == 1


def test_delete_of_referenced_parent_raises_547(linked: DuckDBSession) -> None:
    run(linked, "INSERT INTO child VALUES (1, 1)")
    error = _error(linked, "DELETE FROM parent")
    assert (error.number, error.severity, error.state) == (547, 16, 0)
    assert error.message == (
        'The DELETE statement conflicted with the REFERENCE constraint "FK_child_parent". '
        'The conflict occurred in database "testdb", table "dbo.child", column \'parent_id\'.'
    )
    assert scalar(linked, "SELECT COUNT(*) FROM parent") == 2
    run(linked, "DELETE FROM parent WHERE id = 2")
    assert scalar(linked, "SELECT COUNT(*) FROM parent") == 1


def test_update_of_referenced_key_raises_547(linked: DuckDBSession) -> None:
    run(linked, "INSERT INTO child VALUES (1, 1)")
    error = _error(linked, "UPDATE parent SET id = 10 WHERE id = 1")
    assert error.message.startswith(
        'The UPDATE statement conflicted with the REFERENCE constraint "FK_child_parent".'
    )
    run(linked, "UPDATE parent SET id = id, name = 'z' WHERE id = 1")
    run(linked, "UPDATE parent SET id = 20 WHERE id = 2")
    assert _rows(linked, "SELECT id, name FROM parent ORDER BY id") == [(1, "z"), (20, "b")]


def test_on_delete_cascade_two_levels_deep(session: DuckDBSession) -> None:
    run(
        session,
        "CREATE TABLE a (id INT PRIMARY KEY);"
        "CREATE TABLE b (id INT PRIMARY KEY, a_id INT REFERENCES a (id) ON DELETE CASCADE);"
        "CREATE TABLE c (id INT PRIMARY KEY, b_id INT REFERENCES b (id) ON DELETE CASCADE);"
        "INSERT INTO a VALUES (1), (2);"
        "INSERT INTO b VALUES (10, 1), (20, 2), (30, NULL);"
        "INSERT INTO c VALUES (100, 10), (101, 10), (200, 20), (300, 30);",
    )
    run(session, "DELETE FROM a WHERE id = 1")
    assert _rows(session, "SELECT id FROM b ORDER BY id") == [(20,), (30,)]
    assert _rows(session, "SELECT id FROM c ORDER BY id") == [(200,), (300,)]


def test_cascade_stops_at_a_no_action_grandchild(session: DuckDBSession) -> None:
    run(
        session,
        "CREATE TABLE a (id INT PRIMARY KEY);"
        "CREATE TABLE b (id INT PRIMARY KEY, a_id INT REFERENCES a (id) ON DELETE CASCADE);"
        "CREATE TABLE c (id INT PRIMARY KEY, b_id INT CONSTRAINT FK_c_b REFERENCES b (id));"
        "INSERT INTO a VALUES (1); INSERT INTO b VALUES (10, 1); INSERT INTO c VALUES (100, 10);",
    )
    error = _error(session, "DELETE FROM a")
    assert error.number == 547
    assert '"FK_c_b"' in error.message and 'table "dbo.c"' in error.message
    assert scalar(session, "SELECT COUNT(*) FROM a") == 1
    assert scalar(session, "SELECT COUNT(*) FROM b") == 1


def test_on_update_cascade(session: DuckDBSession) -> None:
    _setup(session, " ON UPDATE CASCADE")
    run(session, "INSERT INTO child VALUES (1, 1), (2, 1), (3, 2)")
    run(session, "UPDATE parent SET id = id * 10")
    assert _rows(session, "SELECT id, parent_id FROM child ORDER BY id") == [
        (1, 10),
        (2, 10),
        (3, 20),
    ]


def test_on_delete_set_null(session: DuckDBSession) -> None:
    _setup(session, " ON DELETE SET NULL")
    run(session, "INSERT INTO child VALUES (1, 1), (2, 2)")
    run(session, "DELETE FROM parent WHERE id = 1")
    assert _rows(session, "SELECT id, parent_id FROM child ORDER BY id") == [(1, None), (2, 2)]


def test_on_delete_and_update_set_default(session: DuckDBSession) -> None:
    run(
        session,
        "CREATE TABLE p (id INT PRIMARY KEY);"
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT DEFAULT 0, other INT, "
        "FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET DEFAULT ON UPDATE SET DEFAULT);"
        "CREATE TABLE d (id INT PRIMARY KEY, pid INT "
        "REFERENCES p (id) ON DELETE SET DEFAULT);"
        "INSERT INTO p VALUES (0), (1), (2);"
        "INSERT INTO c VALUES (1, 1, 0), (2, 2, 0); INSERT INTO d VALUES (1, 1);",
    )
    run(session, "DELETE FROM p WHERE id = 1")
    run(session, "UPDATE p SET id = 5 WHERE id = 2")
    assert _rows(session, "SELECT id, pid FROM c ORDER BY id") == [(1, 0), (2, 0)]
    assert _rows(session, "SELECT id, pid FROM d") == [(1, None)]


def test_multi_column_key(session: DuckDBSession) -> None:
    run(
        session,
        "CREATE TABLE p (a INT NOT NULL, b VARCHAR(5) NOT NULL, PRIMARY KEY (a, b));"
        "CREATE TABLE c (id INT PRIMARY KEY, a INT, b VARCHAR(5), "
        "CONSTRAINT FK_ab FOREIGN KEY (a, b) REFERENCES p (a, b));"
        "INSERT INTO p VALUES (1, 'x'), (2, 'y');",
    )
    run(session, "INSERT INTO c VALUES (1, 1, 'x'), (2, 2, NULL), (3, NULL, 'nope')")
    error = _error(session, "INSERT INTO c VALUES (4, 1, 'y')")
    assert error.message == (
        'The INSERT statement conflicted with the FOREIGN KEY constraint "FK_ab". '
        'The conflict occurred in database "testdb", table "dbo.p".'
    )
    error = _error(session, "DELETE FROM p WHERE a = 1")
    assert error.message.endswith('table "dbo.c".')
    run(session, "DELETE FROM p WHERE a = 2")
    assert scalar(session, "SELECT COUNT(*) FROM c") == 3


def test_self_referencing_table(session: DuckDBSession) -> None:
    run(
        session,
        "CREATE TABLE node (id INT PRIMARY KEY, parent INT "
        "CONSTRAINT FK_node REFERENCES node (id))",
    )
    run(session, "INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2)")
    run(session, "INSERT INTO node VALUES (4, 4)")
    error = _error(session, "INSERT INTO node VALUES (5, 9)")
    assert "table \"dbo.node\", column 'id'" in error.message
    error = _error(session, "DELETE FROM node WHERE id = 2")
    assert error.message == (
        'The DELETE statement conflicted with the SAME TABLE REFERENCE constraint "FK_node". '
        'The conflict occurred in database "testdb", table "dbo.node", column \'parent\'.'
    )
    run(session, "DELETE FROM node WHERE id IN (2, 3)")
    run(session, "DELETE FROM node")
    assert scalar(session, "SELECT COUNT(*) FROM node") == 0


def test_transaction_survives_547(linked: DuckDBSession) -> None:
    run(linked, "BEGIN TRANSACTION; INSERT INTO parent VALUES (3, 'c')")
    run(linked, "INSERT INTO child VALUES (1, 1)")
    _error(linked, "INSERT INTO child VALUES (2, 2), (3, 99)")
    _error(linked, "DELETE FROM parent WHERE id IN (1, 3)")
    _error(linked, "UPDATE child SET parent_id = 9")
    run(linked, "INSERT INTO child VALUES (4, 3)")
    assert scalar(linked, "SELECT @@TRANCOUNT") == 1
    run(linked, "COMMIT")
    assert _rows(linked, "SELECT id, parent_id FROM child ORDER BY id") == [(1, 1), (4, 3)]
    assert scalar(linked, "SELECT COUNT(*) FROM parent") == 3


def test_xact_abort_rolls_back_the_transaction(linked: DuckDBSession) -> None:
    run(linked, "SET XACT_ABORT ON; BEGIN TRANSACTION; INSERT INTO parent VALUES (3, 'c')")
    _error(linked, "INSERT INTO child VALUES (1, 99)")
    assert scalar(linked, "SELECT @@TRANCOUNT") == 0
    assert scalar(linked, "SELECT COUNT(*) FROM parent") == 2


def test_cascade_is_undone_with_its_transaction(session: DuckDBSession) -> None:
    _setup(session, " ON DELETE CASCADE")
    run(session, "INSERT INTO child VALUES (1, 1)")
    run(session, "BEGIN TRANSACTION; DELETE FROM parent WHERE id = 1; ROLLBACK")
    assert scalar(session, "SELECT COUNT(*) FROM child") == 1


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    for round_ in range(2):
        engine = DuckDBEngine(["testdb"], path=str(tmp_path))
        session = engine.open_session("testdb", "sa")
        try:
            if round_ == 0:
                _setup(session)
            else:
                assert _error(session, "INSERT INTO child VALUES (1, 7)").number == 547
                run(session, "INSERT INTO child VALUES (1, 1)")
                assert _error(session, "DELETE FROM parent").number == 547
        finally:
            session.close()
            engine.close()


def test_keys_survive_a_rolled_back_create_table(linked: DuckDBSession) -> None:
    run(linked, "BEGIN TRANSACTION; CREATE TABLE dbo.other (id INT); ROLLBACK")
    assert _error(linked, "INSERT INTO child VALUES (1, 7)").number == 547
    run(linked, "INSERT INTO child VALUES (1, 1)")
    assert _error(linked, "DELETE FROM parent").number == 547


def test_a_dropped_child_no_longer_blocks(linked: DuckDBSession) -> None:
    run(linked, "INSERT INTO child VALUES (1, 1); DROP TABLE child")
    run(linked, "DELETE FROM parent")
    assert scalar(linked, "SELECT COUNT(*) FROM parent") == 0


def test_bulk_load_is_not_checked(linked: DuckDBSession) -> None:
    data = pa.table({"c0": pa.array([1], pa.int32()), "c1": pa.array([42], pa.int32())})
    linked.bulk_insert("child", ["id", "parent_id"], data, ["int", "int"], keep_identity=False)
    assert _rows(linked, "SELECT id, parent_id FROM child") == [(1, 42)]


def test_nocheck_and_check_constraint(linked: DuckDBSession) -> None:
    run(linked, "ALTER TABLE child NOCHECK CONSTRAINT FK_child_parent")
    run(linked, "INSERT INTO child VALUES (1, 7)")
    run(linked, "INSERT INTO child VALUES (2, 1)")
    run(linked, "DELETE FROM parent WHERE id = 1")
    run(linked, "ALTER TABLE child CHECK CONSTRAINT ALL")
    assert _error(linked, "INSERT INTO child VALUES (3, 8)").number == 547
    error = _error(linked, "ALTER TABLE child WITH CHECK CHECK CONSTRAINT FK_child_parent")
    assert error.message.startswith("The ALTER TABLE statement conflicted with the FOREIGN KEY")
    run(linked, "DELETE FROM child; ALTER TABLE child WITH CHECK CHECK CONSTRAINT ALL")
    assert _error(linked, "ALTER TABLE child NOCHECK CONSTRAINT FK_nope").number == 4917


# -- property ---------------------------------------------------------------------------------

statements = st.lists(
    st.tuples(
        st.sampled_from(["insert_parent", "insert_child", "delete_parent", "delete_child"])
        | st.sampled_from(["update_child", "update_parent", "insert_children"]),
        st.integers(0, 4),
        st.integers(0, 4),
    ),
    min_size=1,
    max_size=25,
)


def _statement(kind: str, a: int, b: int, serial: int) -> str:
    value = "NULL" if b == 4 else str(b)
    return {
        "insert_parent": f"INSERT INTO parent VALUES ({serial}, 'p'), ({a}, 'q')",
        "insert_child": f"INSERT INTO child VALUES ({serial}, {value})",
        "insert_children": f"INSERT INTO child VALUES ({serial}, {a}), ({serial + 1}, {value})",
        "delete_parent": f"DELETE FROM parent WHERE id % 5 = {a}",
        "delete_child": f"DELETE FROM child WHERE parent_id = {a}",
        "update_child": f"UPDATE child SET parent_id = {value} WHERE id % 3 = {a % 3}",
        "update_parent": f"UPDATE parent SET id = id + {b + 100} WHERE id = {a}",
    }[kind]


def _state(session: DuckDBSession) -> tuple[list[tuple[object, ...]], ...]:
    return (
        _rows(session, "SELECT * FROM parent ORDER BY id"),
        _rows(session, "SELECT * FROM child ORDER BY id"),
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=statements, in_transaction=st.booleans())
def test_children_always_have_parents(
    session_factory: Callable[..., DuckDBSession],
    script: list[tuple[str, int, int]],
    in_transaction: bool,
) -> None:
    session = session_factory()
    run(session, "DROP TABLE IF EXISTS child; DROP TABLE IF EXISTS parent")
    _setup(session)
    if in_transaction:
        run(session, "BEGIN TRANSACTION")
    for serial, (kind, a, b) in enumerate(script, start=1000):
        before = _state(session)
        try:
            run(session, _statement(kind, a, b, serial * 2))
        except SqlError as error:
            assert error.number in (547, 2627), error.message
            assert _state(session) == before
        orphans = scalar(
            session,
            "SELECT COUNT(*) FROM child c WHERE c.parent_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM parent p WHERE p.id = c.parent_id)",
        )
        assert orphans == 0
    if in_transaction:
        run(session, "COMMIT")
