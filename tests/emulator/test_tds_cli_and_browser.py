"""``python -m mssql_emulator`` end to end, and the SSRP browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mssql_emulator.browser import BrowserService, ssrp_reply
from mssql_emulator.testing import RunningEmulator


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def init_file(tmp_path: Path) -> Path:
    script = tmp_path / "init.sql"
    script.write_text(
        "CREATE TABLE dbo.greetings (id int NOT NULL PRIMARY KEY, text nvarchar(20))\n"
        "GO\n"
        "INSERT INTO dbo.greetings VALUES (1, N'hello'), (2, N'wörld')\n"
        "GO\n",
        encoding="utf-8",
    )
    return script


def test_cli_serves_init_data_until_sigterm(init_file: Path) -> None:
    import pytds

    port = _free_port()
    udp = _free_port(socket.SOCK_DGRAM)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mssql_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--user",
            "sa",
            "--password",
            "Cli_Pass1",
            "--user",
            "app",
            "--password",
            "App_Pass2",
            "--database",
            "clidb",
            "--init",
            str(init_file),
            "--tls-self-signed",
            "--browser-port",
            str(udp),
            "--instance",
            "SQLEXPRESS",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == f"mssql_emulator ready on 127.0.0.1:{port}\n"
        with pytds.connect(
            "127.0.0.1",
            port=port,
            user="app",
            password="App_Pass2",
            database="clidb",
            login_timeout=10,
        ) as conn:
            cur = conn.cursor()
            cur.execute("SELECT text FROM dbo.greetings ORDER BY id")
            assert [r[0] for r in cur.fetchall()] == ["hello", "wörld"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(b"\x04SQLEXPRESS\x00", ("127.0.0.1", udp))
            reply, _ = sock.recvfrom(4096)
        assert f";tcp;{port};;".encode() in reply
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert proc.stdout.read() == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ssrp_reply_format() -> None:
    reply = ssrp_reply(b"\x04INST1\x00", "HOST", "INST1", 14330)
    body = b"ServerName;HOST;InstanceName;INST1;IsClustered;No;Version;16.0.4000.0;tcp;14330;;"
    assert reply == b"\x05" + len(body).to_bytes(2, "little") + body
    assert ssrp_reply(b"\x04OTHER\x00", "HOST", "INST1", 14330) is None
    assert ssrp_reply(b"\x02", "HOST", "INST1", 14330) is not None
    assert ssrp_reply(b"", "HOST", "INST1", 14330) is None


def test_browser_answers_over_udp() -> None:
    service = BrowserService("127.0.0.1", 0, "SQLEXPRESS", 5555).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(b"\x04sqlexpress\x00", ("127.0.0.1", service.port))
            reply, _ = sock.recvfrom(4096)
        assert reply[0] == 0x05
        assert b"InstanceName;SQLEXPRESS;" in reply and b";tcp;5555;;" in reply
    finally:
        service.close()


def test_cli_with_certificate_files_serves_full_tls(tmp_path: Path) -> None:
    import mssql_python

    from mssql_emulator.tds.tls import self_signed

    tls = self_signed(str(tmp_path))
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mssql_emulator",
            "--port",
            str(port),
            "--user",
            "sa",
            "--password",
            "Tls_Pass1",
            "--database",
            "tlsdb",
            "--tls-cert",
            tls.cert_file,
            "--tls-key",
            tls.key_file,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("mssql_emulator ready on 127.0.0.1:")
        conn = mssql_python.connect(
            f"Server=127.0.0.1,{port};Database=tlsdb;UID=sa;PWD=Tls_Pass1;"
            "Encrypt=yes;TrustServerCertificate=yes",
            timeout=10,
        )
        try:
            cur = conn.cursor()
            cur.execute("SELECT N'über TLS'")
            assert cur.fetchone()[0] == "über TLS"
        finally:
            conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_every_driver_resolves_host_backslash_instance(emulator: RunningEmulator) -> None:
    import mssql_python
    import pymssql
    import pyodbc
    import pytds

    # Clients always ask the Browser on UDP 1434, so this test needs that port.
    service = BrowserService("127.0.0.1", 1434, "SQLEXPRESS", emulator.port).start()
    server = "127.0.0.1\\SQLEXPRESS"
    user, password, db = emulator.user, emulator.password, emulator.database
    try:
        with pytds.connect(
            server, user=user, password=password, database=db, login_timeout=10
        ) as conn:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchone()[0] == 1
        for conn in (
            pymssql.connect(
                server=server, user=user, password=password, database=db, login_timeout=10
            ),
            pyodbc.connect(
                f"DRIVER={{FreeTDS}};SERVER={server};DATABASE={db};UID={user};"
                f"PWD={password};TDS_Version=7.4",
                timeout=10,
            ),
            mssql_python.connect(
                f"Server={server};Database={db};UID={user};PWD={password};Encrypt=no", timeout=10
            ),
        ):
            try:
                cur = conn.cursor()
                cur.execute("SELECT 2")
                assert cur.fetchone()[0] == 2
            finally:
                conn.close()
    finally:
        service.close()
