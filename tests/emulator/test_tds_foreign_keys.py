"""FOREIGN KEY violations reach real drivers as error 547; the connection stays usable."""

from __future__ import annotations

from typing import Any

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator

MESSAGE = (
    'The INSERT statement conflicted with the FOREIGN KEY constraint "FK_tds_child". '
    'The conflict occurred in database "testdb", table "dbo.tds_parent_{name}", column \'id\'.'
)
CHOSEN = [d for d in DRIVERS if d.name in ("pytds", "mssql-python")]


@pytest.fixture(params=CHOSEN, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    driver: Driver = request.param
    return driver


def _tables(cur: Any, name: str) -> None:
    cur.execute(
        f"CREATE TABLE dbo.tds_parent_{name} (id INT PRIMARY KEY);"
        f"CREATE TABLE dbo.tds_child_{name} (id INT PRIMARY KEY, parent_id INT "
        f"CONSTRAINT FK_tds_child REFERENCES dbo.tds_parent_{name} (id));"
        f"INSERT INTO dbo.tds_parent_{name} VALUES (1);"
    )


def _text(error: BaseException) -> str:
    """pytds keeps the server's message as the first argument; others put it in ``str``."""
    first = error.args[0] if error.args else ""
    return first if isinstance(first, str) else str(error)


def test_547_reaches_the_driver(emulator: RunningEmulator, driver: Driver) -> None:
    name = driver.name.replace("-", "_")
    conn = driver.connect(emulator)
    try:
        conn.autocommit = True
        cur = conn.cursor()
        _tables(cur, name)
        with pytest.raises(Exception) as info:
            cur.execute(f"INSERT INTO dbo.tds_child_{name} VALUES (1, 1), (2, 99)")
        assert MESSAGE.format(name=name) in _text(info.value)
        # Both drivers classify 547 as an integrity error (mssql-python through SQLSTATE 23000).
        assert type(info.value).__name__ == "IntegrityError"
        if driver.name == "pytds":
            assert (info.value.msg_no, info.value.state, info.value.severity) == (547, 0, 16)
        cur.execute(f"INSERT INTO dbo.tds_child_{name} VALUES (3, 1)")
        cur.execute(f"SELECT id FROM dbo.tds_child_{name}")
        assert [tuple(r) for r in cur.fetchall()] == [(3,)]
        with pytest.raises(Exception) as info:
            cur.execute(f"DELETE FROM dbo.tds_parent_{name}")
        assert "REFERENCE constraint" in _text(info.value)
        cur.execute(f"SELECT COUNT(*) FROM dbo.tds_parent_{name}")
        assert cur.fetchone()[0] == 1
    finally:
        conn.close()
