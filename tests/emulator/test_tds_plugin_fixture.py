"""The ``mssql_emulator_server`` fixture that ``mssql_emulator.testing`` offers as a plugin."""

from __future__ import annotations

from mssql_emulator.testing import RunningEmulator


def test_plugin_fixture_serves_mssql_python_over_tls(
    mssql_emulator_server: RunningEmulator,
) -> None:
    import mssql_python

    conn = mssql_python.connect(
        mssql_emulator_server.odbc_connection_string(encrypt=True), timeout=10
    )
    try:
        cur = conn.cursor()
        cur.execute("SELECT DB_NAME()")
        assert cur.fetchone()[0] == mssql_emulator_server.database
    finally:
        conn.close()
