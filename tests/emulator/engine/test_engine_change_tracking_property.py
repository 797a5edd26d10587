"""Property: CHANGETABLE(CHANGES t, v) joined to t turns the table as of version v into t now.

Random transactions (inserts, updates, deletes, deletes then re-inserts of a key, key
updates, multi-row updates; committed, rolled back or autocommitted) run against a table
with a composite key while a Python model follows the committed state. Then, for every
version seen, the change rows are applied to the model's copy of that version: deletes
remove the key, other rows upsert the table's current values. The result must be the
table now, and each operation must say what happened to its key since that version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from engine_helpers import param, query, run, scalar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssql_emulator.engine import DuckDBEngine, DuckDBSession

Key = tuple[int, str]
Rows = dict[Key, int]
KEYS: list[Key] = [(k1, k2) for k1 in range(3) for k2 in ("a", "b")]


@dataclass(frozen=True)
class Op:
    """An operation; ``pick``/``other`` choose among the keys it can apply to when it runs."""

    kind: str  # insert, update, delete, reinsert, rekey, bump
    pick: int
    value: int
    other: int


ops = st.builds(
    Op,
    st.sampled_from(["insert", "update", "delete", "reinsert", "rekey", "bump"]),
    st.integers(0, 5),
    st.integers(-5, 50),
    st.integers(0, 5),
)
transactions = st.lists(
    st.tuples(
        st.sampled_from(["commit", "rollback", "autocommit"]),
        st.lists(ops, min_size=1, max_size=5),
    ),
    min_size=1,
    max_size=7,
)


def _where(key: Key) -> str:
    return f"k1 = {key[0]} AND k2 = N'{key[1]}'"


def _statements(op: Op, rows: Rows) -> Iterator[str]:
    """T-SQL for ``op`` where it can apply; ``rows`` follows each statement as it is yielded."""
    present = sorted(rows)
    absent = [k for k in KEYS if k not in rows]
    value = op.value
    if op.kind == "insert":
        if absent:
            key = absent[op.pick % len(absent)]
            rows[key] = value
            yield f"INSERT INTO t (k1, k2, v) VALUES ({key[0]}, N'{key[1]}', {value})"
        return
    if op.kind == "bump":
        for k in present:
            if k[0] == op.pick % 3:
                rows[k] += 1
        yield f"UPDATE t SET v = v + 1 WHERE k1 = {op.pick % 3}"
        return
    if not present:
        return
    key = present[op.pick % len(present)]
    if op.kind == "update":
        rows[key] = value
        yield f"UPDATE t SET v = {value} WHERE {_where(key)}"
    elif op.kind == "delete":
        del rows[key]
        yield f"DELETE FROM t WHERE {_where(key)}"
    elif op.kind == "reinsert":
        del rows[key]
        yield f"DELETE FROM t WHERE {_where(key)}"
        rows[key] = value
        yield f"INSERT INTO t VALUES ({key[0]}, N'{key[1]}', {value})"
    elif op.kind == "rekey" and absent:
        other = absent[op.other % len(absent)]
        rows[other] = rows.pop(key)
        yield f"UPDATE t SET k1 = {other[0]}, k2 = N'{other[1]}' WHERE {_where(key)}"


def _table(session: DuckDBSession) -> Rows:
    _, rows = query(session, "SELECT k1, k2, v FROM t")
    return {(k1, k2): v for k1, k2, v in rows}


def _check_changes_since(session: DuckDBSession, version: int, then: Rows, now: Rows) -> None:
    _, changes = query(
        session,
        """
        SELECT ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_VERSION, ct.k1, ct.k2, t.v
        FROM CHANGETABLE(CHANGES dbo.t, @since) AS ct
        LEFT OUTER JOIN dbo.t AS t ON t.k1 = ct.k1 AND t.k2 = ct.k2""",
        [param("@since", "bigint", version)],
    )
    current = scalar(session, "SELECT CHANGE_TRACKING_CURRENT_VERSION()")
    applied = dict(then)
    seen: set[Key] = set()
    for op, changed_at, k1, k2, value in changes:
        key = (k1, k2)
        assert key not in seen, "one row per key"
        seen.add(key)
        assert version < changed_at <= current
        if op == "D":
            assert key not in now
            applied.pop(key, None)
            continue
        assert key in now and value == now[key]
        assert (op == "I") == (key not in then), (op, key, then)
        applied[key] = value
    assert applied == now
    assert {k for k in set(then) | set(now) if then.get(k) != now.get(k)} <= seen


@given(history=transactions)
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_changes_since_any_version_rebuild_the_table(
    history: list[tuple[str, list[Op]]], engine_for_property: DuckDBEngine
) -> None:
    session = engine_for_property.open_session("testdb", "sa")
    try:
        run(session, "DROP TABLE IF EXISTS dbo.t")  # a fresh table per example
        run(session, "CREATE TABLE dbo.t (k1 INT, k2 NVARCHAR(3), v INT, PRIMARY KEY (k1, k2))")
        run(session, "ALTER TABLE dbo.t ENABLE CHANGE_TRACKING")
        version = "SELECT CHANGE_TRACKING_CURRENT_VERSION()"
        committed: Rows = {}
        snapshots: dict[int, Rows] = {scalar(session, version): {}}
        for ending, txn_ops in history:
            rows = dict(committed)
            if ending != "autocommit":
                run(session, "BEGIN TRAN")
            for sql in (sql for op in txn_ops for sql in _statements(op, rows)):
                run(session, sql)
                if ending == "autocommit":  # every statement is a version of its own
                    snapshots[scalar(session, version)] = dict(rows)
            if ending != "autocommit":
                run(session, ending.upper())
            if ending != "rollback":
                committed = rows
            assert _table(session) == committed
            snapshots[scalar(session, version)] = dict(committed)
        for since, then in snapshots.items():
            _check_changes_since(session, since, then, committed)
    finally:
        session.close()


@pytest.fixture(scope="module")
def engine_for_property() -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine(["testdb"])
    run_session = engine.open_session("testdb", "sa")
    run(run_session, "ALTER DATABASE testdb SET CHANGE_TRACKING = ON")
    run_session.close()
    yield engine
    engine.close()
