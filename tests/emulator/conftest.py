"""Emulator fixtures: one server per test module on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from drivers import DRIVERS, Driver
from tds_client import RawClient

from mssql_emulator.contract import Engine
from mssql_emulator.testing import (
    RunningEmulator,
    mssql_emulator_server,  # the plugin's fixture, used by test_tds_plugin_fixture
    running_emulator,
)

__all__ = ["mssql_emulator_server"]

USER = "sa"
PASSWORD = "Emulator_Pass1"
DATABASE = "testdb"
SECOND_USER = ("reader", "Reader_Pass2")


def make_engine(databases: list[str]) -> Engine:
    from mssql_emulator.engine import DuckDBEngine

    engine: Engine = DuckDBEngine(databases)
    return engine


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    engine = make_engine([DATABASE, "otherdb"])
    with running_emulator(
        user=USER,
        password=PASSWORD,
        database=DATABASE,
        users=dict([SECOND_USER]),
        tls=True,
        engine=engine,
    ) as emu:
        yield emu
    engine.close()


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver_cursor(request: pytest.FixtureRequest, emulator: RunningEmulator) -> Iterator[Any]:
    """A cursor of each driver in turn, on its own connection to the module's server."""
    driver: Driver = request.param
    conn = driver.connect(emulator)
    try:
        yield conn.cursor()
    finally:
        conn.close()


@pytest.fixture
def raw(emulator: RunningEmulator) -> Iterator[RawClient]:
    """A raw TDS connection per test: one the server drops fails no test after it."""
    client = RawClient(emulator.port)
    client.login(emulator.user, emulator.password, emulator.database)
    yield client
    client.close()
