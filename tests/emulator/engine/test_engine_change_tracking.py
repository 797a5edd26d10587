"""Change Tracking: versions per committed transaction, CHANGETABLE(CHANGES|VERSION …)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import param, query, run, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession

TRACKED = """
    ALTER DATABASE testdb SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)
    CREATE TABLE dbo.t (id INT NOT NULL PRIMARY KEY, a INT, b INT, c INT)
    ALTER TABLE dbo.t ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)
"""


@pytest.fixture
def tracked(session: DuckDBSession) -> DuckDBSession:
    run(session, TRACKED)
    return session


def changes(session: DuckDBSession, since: object) -> str:
    """Each changed key as ``<id><op><version>/<creation version>``, in key order."""
    _, rows = query(
        session,
        "SELECT ct.id, ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_VERSION, "
        "ct.SYS_CHANGE_CREATION_VERSION FROM CHANGETABLE(CHANGES dbo.t, @last) AS ct "
        "ORDER BY ct.id",
        [param("@last", "bigint", since)],
    )
    return " ".join(f"{i}{op}{v}/{'' if c is None else c}" for i, op, v, c in rows)


@pytest.mark.parametrize(
    ("writes", "since", "expected"),
    [
        ("", 0, "1I1/1 2I1/1 3I1/1"),
        ("UPDATE t SET a = 9 WHERE id = 1", 0, "1I2/1 2I1/1 3I1/1"),
        ("UPDATE t SET a = 9 WHERE id = 1", 1, "1U2/"),
        ("DELETE t WHERE id = 2", 0, "1I1/1 2D2/1 3I1/1"),
        ("DELETE t WHERE id = 2", 1, "2D2/"),
        # Inserted and deleted since the last sync: still reported, as a delete.
        ("INSERT t VALUES (4, 0, 0, 0)\nDELETE t WHERE id = 4", 1, "4D3/2"),
        # Deleted and inserted again: an update of the whole row.
        ("DELETE t WHERE id = 1\nINSERT t VALUES (1, 0, 0, 0)", 1, "1U3/3"),
        ("DELETE t WHERE id = 1\nINSERT t VALUES (1, 0, 0, 0)", 0, "1I3/3 2I1/1 3I1/1"),
        (
            "DELETE t WHERE id = 1\nINSERT t VALUES (1, 0, 0, 0)\n"
            "DELETE t WHERE id = 1\nINSERT t VALUES (1, 0, 0, 0)",
            3,
            "1U5/5",
        ),
        # Key updates are a delete of the old key and an insert of the new one.
        ("UPDATE t SET id = id + 10 WHERE id < 3", 1, "1D2/ 2D2/ 11I2/2 12I2/2"),
        ("UPDATE t SET id = id + 1", 1, "1D2/ 2U2/2 3U2/2 4I2/2"),
        ("UPDATE t SET id = id WHERE id = 1", 1, "1U2/2"),
        ("UPDATE t SET a = 1 WHERE 1 = 0", 1, ""),
        ("", None, "1I1/1 2I1/1 3I1/1"),
        ("", -1, ""),
        ("UPDATE t SET a = 1", 99, ""),
    ],
)
def test_net_change_per_key(tracked: DuckDBSession, writes: str, since: int, expected: str) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1), (2, 2, 2, 2), (3, 3, 3, 3)")
    for statement in filter(None, writes.split("\n")):
        run(tracked, statement)
    assert changes(tracked, since) == expected


def test_one_transaction_is_one_version_and_merges_its_writes(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (9, 9, 9, 9)")
    run(
        tracked,
        """
        BEGIN TRAN
        INSERT t VALUES (1, 1, 1, 1)
        DELETE t WHERE id = 1
        INSERT t VALUES (2, 2, 2, 2)
        DELETE t WHERE id = 2
        INSERT t VALUES (2, 3, 3, 3)
        DELETE t WHERE id = 9
        INSERT t VALUES (9, 10, 10, 10)
        UPDATE t SET a = 4 WHERE id = 9
        COMMIT
        """,
    )
    assert changes(tracked, 0) == "1D2/2 2I2/2 9I2/2"
    assert changes(tracked, 1) == "1D2/2 2I2/2 9U2/2"
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 2


def test_versions_advance_once_per_committed_tracked_write(tracked: DuckDBSession) -> None:
    version = "SELECT CHANGE_TRACKING_CURRENT_VERSION()"
    assert scalar(tracked, version) == 0
    run(tracked, "CREATE TABLE dbo.u (id INT PRIMARY KEY)\nINSERT u VALUES (1)")
    run(tracked, "UPDATE t SET a = 1")  # no row: no version
    assert scalar(tracked, version) == 0
    run(tracked, "INSERT t VALUES (1, 1, 1, 1)\nUPDATE t SET a = a")
    assert scalar(tracked, version) == 2
    with pytest.raises(SqlError):
        run(tracked, "INSERT t VALUES (1, 1, 1, 1)")  # duplicate key: nothing committed
    run(tracked, "TRUNCATE TABLE t")
    assert scalar(tracked, version) == 2


def test_rolled_back_changes_never_appear(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1)")
    run(tracked, "BEGIN TRAN\nINSERT t VALUES (2, 2, 2, 2)\nUPDATE t SET a = 5 WHERE id = 1")
    # Inside the transaction: the version has not moved, own changes are not yet versioned.
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 1
    assert changes(tracked, 0) == "1I1/1"
    run(tracked, "ROLLBACK")
    run(tracked, "INSERT t VALUES (3, 3, 3, 3)")
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 2
    assert changes(tracked, 0) == "1I1/1 3I2/2"


def test_a_failed_statement_keeps_the_transactions_other_changes(tracked: DuckDBSession) -> None:
    run(tracked, "BEGIN TRAN\nINSERT t VALUES (1, 1, 1, 1)")
    with pytest.raises(SqlError) as err:
        run(tracked, "INSERT t VALUES (1, 1, 1, 1)")
    assert err.value.number == 2627
    run(tracked, "UPDATE t SET b = 2 WHERE id = 1\nCOMMIT")
    assert changes(tracked, 0) == "1I1/1"


def test_concurrent_sessions_get_versions_in_commit_order(
    tracked: DuckDBSession, session_factory: Callable[..., DuckDBSession]
) -> None:
    other = session_factory()
    run(tracked, "BEGIN TRAN\nINSERT t VALUES (10, 0, 0, 0)")
    run(other, "INSERT t VALUES (20, 0, 0, 0)")
    run(tracked, "COMMIT")
    _, rows = query(
        other, "SELECT id, SYS_CHANGE_VERSION FROM CHANGETABLE(CHANGES t, 0) AS c ORDER BY id"
    )
    assert rows == [(10, 2), (20, 1)]


def test_changes_joined_to_the_table_give_current_values(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1), (2, 2, 2, 2)")
    run(
        tracked,
        "UPDATE t SET a = 7 WHERE id = 1\nDELETE t WHERE id = 2\nINSERT t VALUES (3, 3, 3, 3)",
    )
    columns, rows = query(
        tracked,
        """
        SELECT ct.SYS_CHANGE_OPERATION, ct.id, t.a
        FROM CHANGETABLE(CHANGES dbo.t, @v) AS ct
        LEFT OUTER JOIN dbo.t AS t ON t.id = ct.id
        ORDER BY ct.id""",
        [param("@v", "bigint", 1)],
    )
    assert rows == [("U", 1, 7), ("D", 2, None), ("I", 3, 3)]
    assert [str(c.type) for c in columns] == ["nchar(1)", "int", "int"]
    # The documented RIGHT OUTER JOIN spelling, and a literal version.
    _, rows = query(
        tracked,
        "SELECT CT.id, P.a FROM dbo.t AS P RIGHT OUTER JOIN CHANGETABLE(CHANGES dbo.t, 1) AS CT "
        "ON P.id = CT.id ORDER BY CT.id",
    )
    assert rows == [(1, 7), (2, None), (3, 3)]


def test_result_columns_have_sql_servers_types(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1)")
    columns, _ = query(tracked, "SELECT * FROM CHANGETABLE(CHANGES t, 0) AS ct")
    assert [(c.name, str(c.type)) for c in columns] == [
        ("SYS_CHANGE_VERSION", "bigint"),
        ("SYS_CHANGE_CREATION_VERSION", "bigint"),
        ("SYS_CHANGE_OPERATION", "nchar(1)"),
        ("SYS_CHANGE_COLUMNS", "varbinary(4100)"),
        ("SYS_CHANGE_CONTEXT", "varbinary(128)"),
        ("id", "int"),
    ]
    _, rows = query(
        tracked, "SELECT c.ver FROM CHANGETABLE(CHANGES t, 0) AS c(ver, cre, op, cols, ctx, k)"
    )
    assert rows == [(1,)]


def test_composite_keys(session: DuckDBSession) -> None:
    run(
        session,
        """
        ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON
        CREATE TABLE k (id INT, s NVARCHAR(5), a INT, PRIMARY KEY (s, id))
        INSERT k VALUES (1, N'x', 1)
        ALTER TABLE k ENABLE CHANGE_TRACKING
        INSERT k VALUES (2, N'y', 2), (3, N'z', 3)
        UPDATE k SET a = 5 WHERE id = 2
        DELETE k WHERE id = 3
        UPDATE k SET s = N'w' WHERE id = 1
        """,
    )
    columns, rows = query(
        session,
        "SELECT * FROM CHANGETABLE(CHANGES k, 1) AS c ORDER BY c.s, c.id",
    )
    assert [c.name for c in columns][-2:] == ["s", "id"]  # key columns in key order
    assert [(r[2], r[-2], r[-1]) for r in rows] == [
        ("I", "w", 1),
        ("D", "x", 1),
        ("U", "y", 2),
        ("D", "z", 3),
    ]
    _, rows = query(
        session,
        "SELECT k.id, k.s, v.SYS_CHANGE_VERSION FROM k CROSS APPLY "
        "CHANGETABLE(VERSION k, (id, s), (k.id, k.s)) AS v ORDER BY k.id",
    )
    assert rows == [(1, "w", 4), (2, "y", 2)]


def test_version_of_one_row(
    tracked: DuckDBSession, session_factory: Callable[..., DuckDBSession]
) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1), (2, 2, 2, 2)\nUPDATE t SET a = 3 WHERE id = 2")
    version = "SELECT v.SYS_CHANGE_VERSION, v.id FROM CHANGETABLE(VERSION t, (id), (@id)) AS v"
    assert query(tracked, version, [param("@id", "int", 2)])[1] == [(2, 2)]
    assert query(tracked, version, [param("@id", "int", 9)])[1] == []  # no such row
    # The documented conflict check: the row's version from a scalar subquery.
    assert (
        scalar(
            tracked,
            "SELECT ISNULL((SELECT CT.SYS_CHANGE_VERSION FROM CHANGETABLE(VERSION dbo.t, (id), "
            "(P.id)) AS CT), 0) FROM dbo.t AS P WHERE P.id = 1",
        )
        == 1
    )
    # An uncommitted change of the reader's own transaction has no version yet.
    run(tracked, "BEGIN TRAN\nUPDATE t SET a = 5 WHERE id = 1")
    assert query(tracked, version, [param("@id", "int", 1)])[1] == [(None, 1)]
    assert query(session_factory(), version, [param("@id", "int", 1)])[1] == [(1, 1)]
    run(tracked, "COMMIT")
    assert query(tracked, version, [param("@id", "int", 1)])[1] == [(3, 1)]


def test_change_columns_list_the_columns_updates_set(tracked: DuckDBSession) -> None:
    def masks(writes: str) -> str:
        run(tracked, "DELETE t\nINSERT t VALUES (1, 1, 1, 1)")
        start = scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()")
        run(tracked, writes)
        _, rows = query(
            tracked,
            "SELECT id, SYS_CHANGE_COLUMNS FROM CHANGETABLE(CHANGES t, @v) AS ct ORDER BY id",
            [param("@v", "bigint", start)],
        )
        return " ".join(f"{i}:{'' if m is None else m.hex()}" for i, m in rows)

    assert masks("UPDATE t SET b = 5") == "1:0000000003000000"
    assert masks("UPDATE t SET c = 5, a = 3") == "1:000000000400000002000000"
    assert (
        masks("UPDATE t SET b = 5\nUPDATE t SET c = 5, a = 3")
        == "1:00000000030000000400000002000000"
    )
    assert masks("UPDATE t SET a = 1\nUPDATE t SET b = 1\nUPDATE t SET c = 1") == (
        "1:00000000020000000300000004000000"
    )
    # Every non-key column in one statement, a key update, or an insert: NULL (all columns).
    assert masks("UPDATE t SET b = 5\nUPDATE t SET c = 5, a = 3, b = 1") == "1:"
    assert masks("UPDATE t SET id = id") == "1:"
    assert masks("INSERT t VALUES (2, 2, 2, 2)\nUPDATE t SET a = 5 WHERE id = 2") == "2:"


def test_is_column_in_mask_reads_change_columns(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1), (2, 2, 2, 2)\nUPDATE t SET b = 5 WHERE id = 1")
    _, rows = query(
        tracked,
        """
        DECLARE @b INT = COLUMNPROPERTY(OBJECT_ID('dbo.t'), 'b', 'ColumnId')
        DECLARE @c INT = COLUMNPROPERTY(OBJECT_ID('dbo.t'), 'c', 'ColumnId')
        SELECT CT.id, @b, CHANGE_TRACKING_IS_COLUMN_IN_MASK(@b, CT.SYS_CHANGE_COLUMNS),
               CHANGE_TRACKING_IS_COLUMN_IN_MASK(@c, CT.SYS_CHANGE_COLUMNS)
        FROM CHANGETABLE(CHANGES dbo.t, 1) AS CT ORDER BY CT.id""",
    )
    assert rows == [(1, 3, 1, 0)]
    assert scalar(tracked, "SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(2, NULL)") == 1
    assert scalar(tracked, "SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(1, 0x0000000001000000ff)") == 1
    assert scalar(tracked, "SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(1, 0x01000000ffffffff)") == 0
    assert scalar(tracked, "SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(-1, 0x00000000ffffffff)") == 1
    with pytest.raises(SqlError) as err:
        scalar(tracked, "SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(1, 0x00000000)")
    assert err.value.number == 22101


def test_change_context_tags_the_last_statement_to_touch_each_row(tracked: DuckDBSession) -> None:
    run(
        tracked,
        """
        INSERT t VALUES (1, 1, 1, 1), (2, 2, 2, 2)
        DECLARE @ctx BINARY(1) = 0x09
        WITH CHANGE_TRACKING_CONTEXT (@ctx) INSERT t VALUES (4, 4, 4, 4)
        BEGIN TRAN
        WITH CHANGE_TRACKING_CONTEXT (0x07) UPDATE t SET a = 2 WHERE id < 3
        WITH CHANGE_TRACKING_CONTEXT (0x08) UPDATE t SET a = 3 WHERE id = 1
        UPDATE t SET a = 3 WHERE id = 2
        COMMIT
        """,
    )
    _, rows = query(
        tracked, "SELECT id, SYS_CHANGE_CONTEXT FROM CHANGETABLE(CHANGES t, 0) AS c ORDER BY id"
    )
    assert rows == [(1, b"\x08"), (2, None), (4, b"\x09")]
    for bad, number in [
        (
            "DECLARE @wide VARBINARY(200) = 0x01\nWITH CHANGE_TRACKING_CONTEXT (@wide) DELETE t",
            22109,
        ),
        ("DECLARE @s VARCHAR(10) = 'a'\nWITH CHANGE_TRACKING_CONTEXT (@s) DELETE t", 22109),
        ("WITH CHANGE_TRACKING_CONTEXT ('abc') DELETE t", 102),
        ("WITH CHANGE_TRACKING_CONTEXT (NULL) DELETE t", 156),
    ]:
        with pytest.raises(SqlError) as err:
            run(tracked, bad)
        assert err.value.number == number


@pytest.mark.parametrize(
    ("sql", "number"),
    [
        ("SELECT * FROM CHANGETABLE(CHANGES t, 0)", 22104),
        ("SELECT * FROM CHANGETABLE(CHANGES u, 0) AS c", 22105),
        ("SELECT * FROM CHANGETABLE(CHANGES v, 0) AS c", 22107),
        ("SELECT * FROM CHANGETABLE(CHANGES nosuch, 0) AS c", 208),
        ("SELECT * FROM CHANGETABLE(CHANGES t, 1.5) AS c", 102),
        ("DECLARE @x INT = 0\nSELECT * FROM CHANGETABLE(CHANGES t, @x + 1) AS c", 102),
        ("SELECT * FROM CHANGETABLE(VERSION t, (id, a), (1, 1)) AS v", 22111),
        ("SELECT * FROM CHANGETABLE(VERSION t, (id, id), (1, 1)) AS v", 22110),
        ("SELECT * FROM CHANGETABLE(VERSION t, (id), (1, 2)) AS v", 22103),
    ],
)
def test_changetable_refuses_what_sql_server_refuses(
    tracked: DuckDBSession, sql: str, number: int
) -> None:
    run(tracked, "CREATE TABLE u (id INT PRIMARY KEY)\nCREATE VIEW v AS SELECT id FROM t")
    with pytest.raises(SqlError) as err:
        run(tracked, sql)
    assert err.value.number == number


def test_tracking_functions_outside_tracking(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE dbo.t (id INT PRIMARY KEY)")
    assert scalar(session, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") is None
    assert scalar(session, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.t'))") is None
    with pytest.raises(SqlError) as err:
        run(session, "SELECT * FROM CHANGETABLE(CHANGES t, 0) AS c")
    assert err.value.number == 22105
    run(session, TRACKED.replace("dbo.t ", "dbo.w "))
    assert scalar(session, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 0
    assert scalar(session, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.t'))") is None
    assert scalar(session, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.w'))") == 0
    assert (
        scalar(session, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('sys.objects'))")
        is None
    )
    assert scalar(session, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(-5)") is None


def test_repeated_polling_queries_see_new_changes(tracked: DuckDBSession) -> None:
    """The statement cache must not keep an old answer (versions are read, not inlined)."""
    poll = "SELECT CHANGE_TRACKING_CURRENT_VERSION(), COUNT(*) FROM CHANGETABLE(CHANGES t, 0) AS c"
    assert query(tracked, poll)[1] == [(0, 0)]
    run(tracked, "INSERT t VALUES (1, 1, 1, 1)")
    assert query(tracked, poll)[1] == [(1, 1)]
    run(tracked, "INSERT t VALUES (2, 2, 2, 2)")
    assert query(tracked, poll)[1] == [(2, 2)]


def test_since_may_be_any_integer_parameter(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1, 1, 1)\nUPDATE t SET a = 2")
    for type_text in ("bigint", "int", "smallint", "tinyint"):
        _, rows = query(
            tracked,
            "SELECT SYS_CHANGE_OPERATION FROM CHANGETABLE(CHANGES t, @P1) AS c",
            [param("@P1", type_text, 1)],
        )
        assert rows == [("U",)], type_text


def test_apply_joins_reach_the_row_versions(tracked: DuckDBSession) -> None:
    run(tracked, "CREATE TABLE dbo.plain (id INT PRIMARY KEY)\nINSERT plain VALUES (1), (2)")
    run(tracked, "INSERT t VALUES (1, 1, 1, 1)")
    _, rows = query(
        tracked,
        "SELECT p.id, x.d FROM plain AS p OUTER APPLY (SELECT p.id * 10 AS d WHERE p.id = 1) "
        "AS x ORDER BY p.id",
    )
    assert rows == [(1, 10), (2, None)]
    _, rows = query(
        tracked,
        "SELECT p.id, v.SYS_CHANGE_VERSION FROM plain AS p "
        "OUTER APPLY CHANGETABLE(VERSION t, (id), (p.id)) AS v ORDER BY p.id",
    )
    assert rows == [(1, 1), (2, None)]
