"""Engine fixtures: a fresh in-memory engine per test, sessions closed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mssql_emulator.engine import DuckDBEngine, DuckDBSession


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(["testdb", "otherdb"])
    yield eng
    eng.close()


@pytest.fixture
def session_factory(engine: DuckDBEngine) -> Iterator[Callable[..., DuckDBSession]]:
    opened: list[DuckDBSession] = []

    def make(database: str = "testdb", user: str = "sa") -> DuckDBSession:
        s = engine.open_session(database, user)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def session(session_factory: Callable[..., DuckDBSession]) -> DuckDBSession:
    return session_factory()
