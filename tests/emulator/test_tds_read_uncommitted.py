"""A READ UNCOMMITTED connection sees another connection's uncommitted rows, as SQL Server's."""

from __future__ import annotations

import uuid

import pytds
import pytds.extensions
import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator

PYTDS = next(d for d in DRIVERS if d.name == "pytds")


@pytest.mark.parametrize("reader", DRIVERS, ids=lambda d: d.name)
def test_dirty_read_across_connections(emulator: RunningEmulator, reader: Driver) -> None:
    table = f"ru_{uuid.uuid4().hex[:8]}"
    writer = PYTDS.connect(emulator)
    dirty = reader.connect(emulator)
    try:
        w = writer.cursor()
        w.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
        writer.commit()
        w.execute(f"INSERT INTO {table} VALUES (1), (2)")
        r = dirty.cursor()
        r.execute("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        r.execute(f"SELECT COUNT(*) FROM {table}")
        assert r.fetchone()[0] == 2
        writer.rollback()
        r.execute(f"SELECT COUNT(*) FROM {table}")
        assert r.fetchone()[0] == 0
    finally:
        writer.close()
        dirty.close()


def test_the_isolation_level_set_at_connect_applies(emulator: RunningEmulator) -> None:
    """pytds sends the level in its BEGIN TRANSACTION request (the suite's own scenario)."""
    table = f"ru_{uuid.uuid4().hex[:8]}"
    kwargs = {
        "port": emulator.port,
        "user": emulator.user,
        "password": emulator.password,
        "database": emulator.database,
    }
    writer = pytds.connect(emulator.host, autocommit=False, **kwargs)
    dirty = pytds.connect(
        emulator.host,
        autocommit=False,
        isolation_level=pytds.extensions.ISOLATION_LEVEL_READ_UNCOMMITTED,
        **kwargs,
    )
    committed = pytds.connect(emulator.host, autocommit=True, **kwargs)
    try:
        w = writer.cursor()
        w.execute(f"CREATE TABLE {table} (field int)")
        writer.commit()
        w.execute(f"INSERT INTO {table} VALUES (1)")
        assert committed.cursor().execute(f"SELECT * FROM {table}").fetchall() == []
        assert dirty.cursor().execute(f"SELECT * FROM {table}").fetchall() == [(1,)]
        writer.commit()
        assert committed.cursor().execute(f"SELECT * FROM {table}").fetchall() == [(1,)]
        assert dirty.cursor().execute(f"SELECT * FROM {table}").fetchall() == [(1,)]
    finally:
        for conn in (writer, dirty, committed):
            conn.close()
