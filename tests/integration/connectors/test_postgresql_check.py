"""Connection tests against real sockets: each failure classified, the password never shown.

The test server trusts every local login, so a wrong password, and a server that
insists on TLS, are played by a tiny PostgreSQL-protocol listener below: it asks
libpq for a cleartext password (or refuses the startup) and answers with the error
a real server sends. Everything else runs against the real server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import traceback
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from flowservice.connectors.postgresql.connector import PostgresConnector
from flowservice.errors import ConnectorError, SourceConfigError, TransientSourceError

POSTGRES_ENV = "FLOWSERVICE_TEST_POSTGRES_URL"
SECRET = "Pa55;word'with\"quotes-7f3a"
SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh, empty database on the test server; dropped afterwards."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.fail(f"{POSTGRES_ENV} is not set: start a server with .ci/start-postgres.sh")
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"flowservice_src_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def connection_string(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    values = {
        "Server": str(parts.hostname),
        "Database": parts.path.lstrip("/"),
        "Port": str(parts.port),
        "UID": str(parts.username),
        "Password": "'" + SECRET.replace("'", "''") + "'",
    }
    values.update(changes)
    return ";".join(f"{k}={v}" for k, v in values.items())


def _check(text: str) -> tuple[bool, str | None, str]:
    result = PostgresConnector({"connectionString": text}).check()
    return result.ok, result.message, result.details.get("reason", "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakePostgres:
    """Answers every startup with one FATAL error, after asking for a password if told to."""

    def __init__(self, *, sqlstate: str, message: str, ask_password: bool) -> None:
        self.sqlstate, self.message, self.ask_password = sqlstate, message, ask_password
        self.passwords: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        while True:
            length, code = struct.unpack("!ii", _exactly(conn, 8))
            body = _exactly(conn, length - 8)
            if code in (SSL_REQUEST, GSS_REQUEST):
                conn.sendall(b"N")
                continue
            break
        assert body  # the startup packet
        if self.ask_password:
            conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            kind = _exactly(conn, 1)
            (length,) = struct.unpack("!i", _exactly(conn, 4))
            payload = _exactly(conn, length - 4)
            if kind == b"p":
                self.passwords.append(payload.rstrip(b"\x00"))
        fields = b"".join(
            tag + text.encode() + b"\x00"
            for tag, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", self.sqlstate))
        )
        fields += b"M" + self.message.encode() + b"\x00\x00"
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    def close(self) -> None:
        self.listener.close()


def _exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


@pytest.fixture
def wrong_password_server() -> Iterator[FakePostgres]:
    fake = FakePostgres(
        sqlstate="28P01",
        message='password authentication failed for user "reader"',
        ask_password=True,
    )
    yield fake
    fake.close()


def test_working_settings(database: str) -> None:
    assert _check(connection_string(database)) == (True, None, "")


def test_wrong_password_is_a_config_error(wrong_password_server: FakePostgres) -> None:
    port = wrong_password_server.port
    text = f"Server=127.0.0.1;Port={port};Database=d;UID=reader;Password={SECRET.replace(';', '')}"
    ok, message, reason = _check(text)
    assert not ok and reason == "login_failed"
    assert message is not None and "reader" in message and "Password" in message
    assert wrong_password_server.passwords == [SECRET.replace(";", "").encode()]
    with pytest.raises(SourceConfigError):
        PostgresConnector({"connectionString": text}).list_objects()


def test_server_that_requires_tls() -> None:
    fake = FakePostgres(
        sqlstate="28000",
        message='no pg_hba.conf entry for host "127.0.0.1", user "reader", database "d", '
        "no encryption",
        ask_password=False,
    )
    try:
        text = f"Server=127.0.0.1;Port={fake.port};Database=d;UID=reader;Password=x"
        ok, message, reason = _check(text)
    finally:
        fake.close()
    assert not ok and reason == "tls_required" and message is not None
    assert "EncryptionMethod=1" in message


def test_unknown_database_and_unknown_role(database: str) -> None:
    ok, message, reason = _check(connection_string(database, Database="no_such_db_x"))
    assert (ok, reason) == (False, "unknown_database")
    assert message is not None and "no_such_db_x" in message
    ok, _, reason = _check(connection_string(database, UID="no_such_role_x"))
    assert (ok, reason) == (False, "login_failed")


def test_tls_required_by_the_client_but_not_offered(database: str) -> None:
    for validate in ("0", "1"):
        text = connection_string(database, EncryptionMethod="1", ValidateServerCertificate=validate)
        ok, message, reason = _check(text)
        assert (ok, reason) == (False, "tls_unavailable")
        assert message is not None and "EncryptionMethod" in message
    # RequestSSL falls back to a plain connection when the server has no TLS
    assert _check(connection_string(database, EncryptionMethod="6"))[0]


def test_unreachable_hosts_are_transient_or_config() -> None:
    refused = f"Server=127.0.0.1;Port={_free_port()};Database=d;UID=u;Password=p"
    with pytest.raises(TransientSourceError) as info:
        PostgresConnector({"connectionString": refused}).list_objects()
    assert info.value.reason == "refused"  # type: ignore[attr-defined]
    unknown = "Server=no-such-host.invalid;Database=d;UID=u;Password=p"
    with pytest.raises(SourceConfigError) as config:
        PostgresConnector({"connectionString": unknown}).describe("t")
    assert config.value.reason == "unknown_host"  # type: ignore[attr-defined]


def test_the_password_never_appears_in_errors_or_logs(
    database: str, wrong_password_server: FakePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bare = SECRET.replace(";", "")
    texts = [
        f"Server=127.0.0.1;Port={wrong_password_server.port};Database=d;UID=u;Password={bare}",
        connection_string(database, Database="no_such_db_y"),
        connection_string(database, Port=str(_free_port())),
        connection_string(database, EncryptionMethod="1"),
        connection_string(database, Server="no-such-host.invalid"),
    ]
    for text in texts:
        connector = PostgresConnector({"connectionString": text})
        result = connector.check()
        assert not result.ok
        assert SECRET not in str(result) and bare not in str(result)
        for action in (connector.list_objects, lambda c=connector: list(c.read("public.t"))):
            with pytest.raises(ConnectorError) as info:
                action()
            shown = "".join(traceback.format_exception(info.value))
            assert SECRET not in shown and bare not in shown
        masked = PostgresConnector.mask_secret("connectionString", text)
        assert SECRET not in masked and bare not in masked
    assert SECRET not in caplog.text and bare not in caplog.text
