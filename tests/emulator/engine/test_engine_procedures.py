"""EXEC in batches and the application-lock procedures, on the engine directly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import results

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession


def _status(session: DuckDBSession, call: str) -> tuple[int, list[tuple[int, int]]]:
    """The return status of ``EXEC @r = <call>`` and the (number, severity) of its messages."""
    out = results(session, f"DECLARE @r int; EXEC @r = {call}; SELECT @r AS r")
    messages = [(m.number, m.severity) for result, _ in out for m in result.messages]
    return out[-1][1][0]["r"], messages


@pytest.mark.parametrize(
    ("call", "status", "messages"),
    [
        ("sp_getapplock 'r', 'Exclusive', 'Session', 0", 0, []),
        (
            "sp_getapplock @Resource = 'r', @LockMode = 'Bogus', @LockOwner = 'Session'",
            -999,
            [(15625, 10)],
        ),
        ("sp_getapplock 'r', 'Exclusive', 'Nobody'", -999, [(15625, 10)]),
        ("sp_getapplock 'r', 'Shared'", -999, [(15626, 10)]),
        ("sp_getapplock NULL, 'Shared', 'Session'", -999, [(1224, 16)]),
        ("sp_getapplock @LockMode = 'Shared', @LockOwner = 'Session'", -999, []),
        ("sp_getapplock 'r', 'Shared', 'Session', -5", -999, []),
        ("sp_releaseapplock 'r', 'Session'", -999, [(1223, 16)]),
    ],
)
def test_applock_status_and_messages(
    session: DuckDBSession, call: str, status: int, messages: list[tuple[int, int]]
) -> None:
    assert _status(session, call) == (status, messages)


@pytest.mark.parametrize(
    ("sql", "number"),
    [
        ("EXEC dbo.nope", 2812),
        ("EXEC @undeclared = sp_getapplock 'r', 'Shared'", 137),
        ("EXEC sp_getapplock @Resource = 'r'", 201),
        ("EXEC sp_getapplock @Nope = 1, @LockMode = 'Shared'", 8145),
        ("EXEC sp_releaseapplock 'r', 'Session', 'public', 4", 8144),
        ("EXEC sp_getapplock @Resource = 'r', 'Shared'", 119),
        ("EXEC sp_executesql N'SELECT @p', N'@p int', @nope = 1", 8145),
        ("EXEC sp_executesql N'SELECT @p', N'@p int'", 201),
    ],
)
def test_exec_errors(session: DuckDBSession, sql: str, number: int) -> None:
    with pytest.raises(SqlError) as err:
        results(session, sql)
    assert err.value.number == number
    assert "duckdb" not in err.value.message.lower()


def test_resource_names_are_case_sensitive_and_per_database(
    session_factory: Callable[..., DuckDBSession],
) -> None:
    a, b, other_db = session_factory(), session_factory(), session_factory("otherdb")
    assert _status(a, "sp_getapplock 'Res', 'Exclusive', 'Session', 0")[0] == 0
    assert _status(b, "sp_getapplock 'Res', 'Exclusive', 'Session', 0")[0] == -1
    assert _status(b, "sp_getapplock 'res', 'Exclusive', 'Session', 0")[0] == 0
    assert _status(other_db, "sp_getapplock 'Res', 'Exclusive', 'Session', 0")[0] == 0
    # Session and transaction owners of one session do not block each other.
    results(a, "BEGIN TRAN")
    assert _status(a, "sp_getapplock 'Res', 'Exclusive', 'Transaction', 0")[0] == 0
    results(a, "ROLLBACK")
    assert _status(b, "sp_getapplock 'Res', 'Exclusive', 'Session', 0")[0] == -1
    a.close()
    assert _status(b, "sp_getapplock 'Res', 'Exclusive', 'Session', 0")[0] == 0


def test_only_sp_executesql_reports_a_return_status(session: DuckDBSession) -> None:
    # SQL Server sends RETURNSTATUS for a procedure, never for EXEC (string)
    statuses = [r.return_status for r, _ in results(session, "EXEC ('SELECT 1 AS a')")]
    assert statuses == [None, None]
    out = results(session, "EXEC sp_executesql N'SELECT 1 AS a'")
    assert [r.return_status for r, _ in out] == [None, 0]
