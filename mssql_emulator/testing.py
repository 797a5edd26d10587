"""Start an emulator on a free loopback port for tests: a context manager and pytest fixtures.

Use ``with running_emulator(init_sql=...) as emu:`` anywhere, or load this module as a
pytest plugin (``pytest_plugins = ["mssql_emulator.testing"]``) and take the
``mssql_emulator_server`` fixture (one server per test session).
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mssql_emulator.contract import Engine
from mssql_emulator.server import EmulatorServer, ServerConfig
from mssql_emulator.tds.tls import TlsConfig, self_signed

DEFAULT_USER = "sa"
DEFAULT_PASSWORD = "Emulator_Pass1"
DEFAULT_DATABASE = "testdb"


@dataclass(frozen=True)
class RunningEmulator:
    """Where a running emulator listens and how to log in."""

    host: str
    port: int
    user: str
    password: str
    database: str
    server: EmulatorServer | None  # None when the server runs in a child process

    def odbc_connection_string(self, *, encrypt: bool = False) -> str:
        """For mssql-python (ODBC Driver 18 keywords)."""
        tls = "Encrypt=yes;TrustServerCertificate=yes" if encrypt else "Encrypt=no"
        return (
            f"Server={self.host},{self.port};Database={self.database};"
            f"UID={self.user};PWD={self.password};{tls}"
        )

    def freetds_connection_string(self) -> str:
        """For pyodbc with the FreeTDS ODBC driver."""
        return (
            f"DRIVER={{FreeTDS}};SERVER={self.host};PORT={self.port};DATABASE={self.database};"
            f"UID={self.user};PWD={self.password};TDS_Version=7.4"
        )


def default_engine(databases: list[str]) -> Engine:
    from mssql_emulator.engine import DuckDBEngine

    engine: Engine = DuckDBEngine(databases)
    return engine


@contextmanager
def running_emulator(
    *,
    user: str = DEFAULT_USER,
    password: str = DEFAULT_PASSWORD,
    database: str = DEFAULT_DATABASE,
    extra_databases: list[str] | None = None,
    users: dict[str, str] | None = None,
    init_sql: list[str] | None = None,
    tls: bool | TlsConfig = False,
    engine: Engine | None = None,
    host: str = "127.0.0.1",
) -> Iterator[RunningEmulator]:
    """A server on a free port of ``host``, stopped (and its engine closed) on exit."""
    databases = [database, *(extra_databases or [])]
    owned = engine is None
    the_engine = engine if engine is not None else default_engine(databases)
    for script in init_sql or []:
        run_script = getattr(the_engine, "run_script", None)
        if run_script is None:
            raise TypeError("this engine cannot run init scripts")
        run_script(database, script)
    tls_config = self_signed() if tls is True else (tls or None)
    config = ServerConfig(
        users={user: password, **(users or {})},
        database=database,
        host=host,
        port=0,
        tls=tls_config,
    )
    server = EmulatorServer(config, the_engine).start()
    try:
        yield RunningEmulator(host, server.port, user, password, database, server)
    finally:
        server.stop()
        if owned:
            the_engine.close()


@contextmanager
def running_emulator_process(
    *,
    user: str = DEFAULT_USER,
    password: str = DEFAULT_PASSWORD,
    database: str = DEFAULT_DATABASE,
    init_sql: list[str] | None = None,
    tls: bool = False,
    timeout: float = 60.0,
) -> Iterator[RunningEmulator]:
    """The same server as ``python -m mssql_emulator`` in a child process.

    Use it with drivers that block in C code holding the GIL (mssql-python's Arrow fetch
    of ``(max)`` columns): an in-process server could then never send the rest.
    """
    with tempfile.TemporaryDirectory(prefix="mssql_emulator_") as folder:
        command = [
            sys.executable,
            "-m",
            "mssql_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--user",
            user,
            "--password",
            password,
            "--database",
            database,
        ]
        for index, script in enumerate(init_sql or []):
            path = Path(folder) / f"init_{index}.sql"
            path.write_text(script, encoding="utf-8")
            command += ["--init", str(path)]
        if tls:
            command.append("--tls-self-signed")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            port = _ready_port(proc, timeout)
            yield RunningEmulator("127.0.0.1", port, user, password, database, None)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _ready_port(proc: subprocess.Popen[str], timeout: float) -> int:
    assert proc.stdout is not None
    ready = select.select([proc.stdout], [], [], timeout)[0]
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("mssql_emulator ready on "):
        raise RuntimeError(f"the emulator did not start (exit code {proc.poll()})")
    return int(line.rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def mssql_emulator_server() -> Iterator[RunningEmulator]:
    """One emulator (with TLS available) for the whole test session."""
    with running_emulator(tls=True) as emulator:
        yield emulator
