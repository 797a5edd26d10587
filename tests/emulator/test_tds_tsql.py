"""FreeTDS's command-line client ``tsql`` (Debian's freetds-bin) against the emulator.

``tsql`` sends each batch as typed, prints rows tab-separated and server messages as
``Msg N (severity S, state T)``: plain and TLS sessions, types, errors, transactions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mssql_emulator.testing import RunningEmulator

pytestmark = pytest.mark.skipif(
    shutil.which("tsql") is None, reason="tsql is not installed (apt-get install freetds-bin)"
)


def tsql(emulator: RunningEmulator, tmp_path: Path, script: str, *, encryption: str) -> str:
    """Run ``script`` (batches ending in GO) through ``tsql -S emu``; its whole output."""
    conf = tmp_path / "freetds.conf"
    conf.write_text(
        "[emu]\n"
        f"    host = {emulator.host}\n"
        f"    port = {emulator.port}\n"
        "    tds version = 7.4\n"
        f"    encryption = {encryption}\n"
        "    client charset = UTF-8\n"
    )
    done = subprocess.run(
        ["tsql", "-S", "emu", "-U", emulator.user, "-P", emulator.password, "-D", "testdb"],
        input=script + "\nexit\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FREETDSCONF": str(conf), "LC_ALL": "C.UTF-8"},
        check=False,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("encryption", ["off", "require"])
def test_queries_types_and_errors(
    emulator: RunningEmulator, tmp_path: Path, encryption: str
) -> None:
    out = tsql(
        emulator,
        tmp_path,
        "SELECT 7 AS n, N'héllo 😀' AS s, CAST(12.345 AS decimal(9,3)) AS d,"
        " CAST('2024-02-29T10:11:12.1234567' AS datetime2(7)) AS t\nGO\n"
        "SELECT * FROM no_such_table\nGO\n"
        "SELECT 1 / 0\nGO\n",
        encryption=encryption,
    )
    assert "n\ts\td\tt" in out
    assert "7\théllo 😀\t12.345\t" in out
    assert "Feb 29 2024 10:11AM" in out  # tsql's own date format
    assert "Msg 208 (severity 16, state 1)" in out and "Invalid object name 'no_such_table'" in out
    assert "Msg 8134 (severity 16" in out and "Divide by zero error encountered." in out


def test_transactions_and_rowcounts(emulator: RunningEmulator, tmp_path: Path) -> None:
    out = tsql(
        emulator,
        tmp_path,
        "CREATE TABLE tsql_t (id int PRIMARY KEY, v nvarchar(10))\nGO\n"
        "BEGIN TRANSACTION\nINSERT INTO tsql_t VALUES (1, N'a'), (2, N'b')\nROLLBACK\nGO\n"
        "INSERT INTO tsql_t VALUES (3, N'c')\nGO\n"
        "SELECT COUNT(*) AS c, MIN(id) AS m FROM tsql_t\nGO\n"
        "INSERT INTO tsql_t VALUES (3, N'dup')\nGO\n"
        "DROP TABLE tsql_t\nGO\n",
        encryption="off",
    )
    assert "c\tm\n1\t3\n(1 row affected)" in out  # the rolled-back rows are gone
    assert "Msg 2627 (severity 14" in out and "Violation of PRIMARY KEY constraint" in out
