"""PostgreSQL: the server in ``FLOWSERVICE_TEST_POSTGRES_URL`` (``.ci/start-postgres.sh``).

The variable holds a SQLAlchemy URL whose role may create databases
(``postgresql+psycopg://user:password@host:port/db``); each session works in a
database ``conformance_<random>`` of its own, dropped (``WITH (FORCE)``) at the end.

Passwords. The CI server trusts every local login (``initdb --auth=trust``), so it
never asks for a password: a wrong one is accepted, and the URL's own password
(``flowservice``, the role's name too) could not be told apart from names the
connector rightly shows. So ``fresh_database`` first tries the live login with
``LIVE_PASSWORD``, a distinctive secret holding ``;``, ``'`` and ``=``:

- accepted (the server asks no password of this login): the suite sends
  ``LIVE_PASSWORD`` as the live password, and ``wrong_password_auth`` points at
  ``PasswordRejecter``, a loopback listener speaking just enough of the
  PostgreSQL protocol to ask for a cleartext password and answer with the FATAL
  28P01 ``password authentication failed`` a real server sends;
- refused (the server checks passwords): the URL's password is the live one and
  the wrong password goes to the real server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from cases.base import (
    BIGINT,
    DECIMAL,
    INT,
    INVALID_PASSWORD,
    TEXT,
    TIMESTAMP,
    WRONG_PASSWORD,
    ColumnType,
    SourceCase,
    TypesTable,
    closed_port,
)

# characters a connection string must quote: the connector has to read it, never echo any of it
LIVE_PASSWORD = "Pq7;Live'Secret=9vW"
LIVE_FRAGMENTS = ("Pq7", "9vW")
SSL_REQUEST, GSS_REQUEST = 80877103, 80877104


@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    user: str
    password: str
    admin_database: str


class PostgresCase(SourceCase):
    name: ClassVar[str] = "postgresql"
    spec_id: ClassVar[str] = "74a1c565-4e59-48d7-9d67-7c03b8a13137"
    auth_spec_name: ClassVar[str] = "Connection String Based Authentication"
    env_var: ClassVar[str] = "FLOWSERVICE_TEST_POSTGRES_URL"
    default_schema: ClassVar[str] = "public"
    types: ClassVar[dict[str, ColumnType]] = {
        INT: ColumnType("integer", pa.int32(), "integer"),
        BIGINT: ColumnType("bigint", pa.int64(), "integer"),
        TEXT: ColumnType("varchar(100)", pa.large_string(), "string"),
        TIMESTAMP: ColumnType("timestamp(6)", pa.timestamp("us"), "date-time"),
        DECIMAL: ColumnType("numeric(18,4)", pa.decimal128(18, 4), "number"),
    }

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._database = ""
        self._rejecter: PasswordRejecter | None = None
        self._writer: Any = None

    @contextmanager
    def fresh_database(self) -> Iterator[None]:
        import psycopg

        server = _server_from(os.environ[self.env_var])
        self._database = f"conformance_{uuid.uuid4().hex[:12]}"
        admin = _connect(server, server.admin_database)
        try:
            # UTF-8 and the C collation whatever the cluster's defaults are
            admin.execute(
                f"CREATE DATABASE {self.quote(self._database)} ENCODING 'UTF8' "
                "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            )
            try:
                with contextlib.ExitStack() as stack:
                    try:
                        probe = _connect(replace(server, password=LIVE_PASSWORD), self._database)
                    except psycopg.OperationalError:
                        self._server = server  # the server checks passwords: use the real one
                    else:
                        probe.close()
                        self._server = replace(server, password=LIVE_PASSWORD)
                        self._rejecter = stack.enter_context(PasswordRejecter.running())
                    self._writer = stack.enter_context(_connect(self._live, self._database))
                    yield
            finally:
                self._writer = None
                self._rejecter = None
                admin.execute(f"DROP DATABASE IF EXISTS {self.quote(self._database)} WITH (FORCE)")
        finally:
            admin.close()

    @property
    def _live(self) -> _Server:
        if self._server is None:
            raise RuntimeError("use the case inside fresh_database()")
        return self._server

    @property
    def password(self) -> str:
        return self._live.password

    def auth_params(
        self,
        *,
        password: str | None = None,
        database: str | None = None,
        address: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        server = self._live
        host, port = address or (server.host, server.port)
        # Adobe's order (the spec's pattern asks for it), then the optional keywords
        text = (
            f"Server={host};Database={database or self._database};Port={port};"
            f"UID={server.user};Password={_quoted(password or server.password)};"
            "Connect Timeout=5"
        )
        return {"connectionString": text}

    def wrong_password_auth(self) -> dict[str, Any]:
        if self._rejecter is None:  # the real server checks passwords
            return self.auth_params(password=WRONG_PASSWORD)
        return self.auth_params(password=WRONG_PASSWORD, address=("127.0.0.1", self._rejecter.port))

    def unreachable_auth(self) -> dict[str, Any]:
        return self.auth_params(address=("127.0.0.1", closed_port()))

    def invalid_auth_params(self) -> list[dict[str, Any]]:
        secret = INVALID_PASSWORD
        head = "Server=h;Database=d;Port=5432;UID=u"
        return [
            {"connectionString": text}
            for text in (
                # the tail of a password cut at an unquoted ';' reads as a keyword
                f"{head};Password=x;{secret}=y",
                f"{head};Password=x;{secret}",  # ... or as a part without '='
                f"{head};Password={secret};Integrated Security=SSPI",
                f"{head};Password={secret};Application Name=a;Bogus=1",
                f"Server=;Database=d;Port=5432;UID=u;Password={secret}",  # no host
                f"Server=h;Database=;Port=5432;UID=u;Password={secret}",  # no database
                f"Server=h;Database=d;Port=5432;UID=;Password={secret}",  # no user
                f"Server=h/x;Database=d;Port=5432;UID=u;Password={secret}",
                f"Server=h;Database=d;Port=99999;UID=u;Password={secret}",
                f"{head};Password='{secret}",  # quote never closed
                f"{head};Password='{secret}'x",  # text after the closing quote
                f"{head};Password={secret};EncryptionMethod=2",
                f"{head};Password={secret};EncryptionMethod=1;ValidateServerCertificate=maybe",
                f"{head};Password={secret};Connect Timeout=0",
                f"{head};Password={secret}\x00",
            )
        ]

    def secrets(self) -> tuple[str, ...]:
        # a password cut at its ';' or shown with its quotes doubled still gives these away
        return (*super().secrets(), *LIVE_FRAGMENTS)

    def execute(self, sql: str) -> None:
        if self._writer is None:
            raise RuntimeError("use the case inside fresh_database()")
        self._writer.execute(sql)

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, str):
            # standard_conforming_strings is on (the default since 9.1): '' is the only escape
            return "'" + value.replace("'", "''") + "'"
        if isinstance(value, datetime) and value.tzinfo is None:
            return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='microseconds')}'"
        raise TypeError(f"no PostgreSQL literal for {type(value).__name__}")

    def types_table(self) -> TypesTable:
        return TypesTable(columns_ddl=TYPES_DDL, rows=TYPES_ROWS, expected=TYPES_EXPECTED)


class PasswordRejecter:
    """A loopback listener that asks every client for a cleartext password and refuses it,
    with the FATAL 28P01 error a PostgreSQL server sends for a wrong password."""

    def __init__(self) -> None:
        self.passwords: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[PasswordRejecter]:
        rejecter = cls()
        rejecter._thread.start()
        try:
            yield rejecter
        finally:
            rejecter._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with conn, contextlib.suppress(OSError, struct.error):
                conn.settimeout(10)
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        while True:  # refuse TLS and GSS encryption, then read the startup packet
            length, code = struct.unpack("!ii", _exactly(conn, 8))
            _exactly(conn, length - 8)
            if code not in (SSL_REQUEST, GSS_REQUEST):
                break
            conn.sendall(b"N")
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = _exactly(conn, 1)
        (length,) = struct.unpack("!i", _exactly(conn, 4))
        payload = _exactly(conn, length - 4)
        if kind == b"p":
            self.passwords.append(payload.rstrip(b"\x00"))
        fields = b"".join(
            tag + text.encode() + b"\x00"
            for tag, text in (
                (b"S", "FATAL"),
                (b"V", "FATAL"),
                (b"C", "28P01"),
                (b"M", "password authentication failed for user"),
            )
        )
        fields += b"\x00"
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)


def _exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _quoted(value: str) -> str:
    """A connection-string value in single quotes (``'`` doubled), safe whatever it holds."""
    return "'" + value.replace("'", "''") + "'"


def _server_from(url: str) -> _Server:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql") or not parts.hostname or not parts.username:
        raise ValueError("expected postgresql[+driver]://user:password@host:port/database")
    return _Server(
        host=parts.hostname,
        port=parts.port or 5432,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        admin_database=unquote(parts.path.lstrip("/")) or "postgres",
    )


def _connect(server: _Server, database: str) -> Any:
    import psycopg

    return psycopg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        dbname=database,
        autocommit=True,
        connect_timeout=10,
    )


TYPES_DDL = """
    id integer NOT NULL PRIMARY KEY,
    c_boolean boolean, c_smallint smallint, c_integer integer, c_bigint bigint,
    c_real real, c_double double precision,
    c_decimal numeric(19,4), c_numeric numeric(38,10), c_numeric_free numeric, c_money money,
    c_char char(5), c_varchar varchar(20), c_text text,
    c_bytea bytea,
    c_date date, c_time time(6), c_timetz timetz, c_timestamp timestamp(6),
    c_timestamptz timestamptz, c_interval interval,
    c_uuid uuid, c_json json, c_jsonb jsonb, c_int_array integer[], c_inet inet
"""

TYPES_ROWS = [
    """(1, true, -32768, -2147483648, -9223372036854775808, 1.5, -2.25,
    123456789012345.6789, 1234567890123456789012345678.0123456789,
    0.000000000000000000000000000000000001, 1234.56,
    'ab', 'hello', '日本語 text',
    '\\x00010203',
    '0001-01-01', '23:59:59.999999', '12:00:00+05:30', '9999-12-31 23:59:59.999999',
    '2024-05-01 10:30:00.123456+02', '1 year 2 months 3 days 04:05:06.789',
    '58185E0D-3A91-44D8-BC46-7107217E0A6D', '{"b": 1,  "a": [1]}', '{"b": 1, "a": [1.10]}',
    '{1,NULL,3}', '192.168.0.1/24')""",
    "(2, " + ", ".join(["NULL"] * 25) + ")",
    """(3, false, 32767, 2147483647, 9223372036854775807, 'Infinity', '-Infinity',
    -0.0001, -9999999999999999999999999999.9999999999, 'NaN', -0.01,
    'abcde', '', '',
    '\\x',
    '9999-12-31', '00:00:00', '00:00:00-12', '0001-01-01 00:00:00',
    '0001-01-01 14:00:00+14', '-1 mons -00:00:00.000001',
    '00000000-0000-0000-0000-000000000000', '[]', '{}', '{}', '::1')""",
]


def _typed(arrow_type: pa.DataType, first: Any, third: Any) -> tuple[pa.DataType, list[Any]]:
    return arrow_type, [first, None, third]


TYPES_EXPECTED: dict[str, tuple[pa.DataType, list[Any]]] = {
    "id": (pa.int32(), [1, 2, 3]),
    "c_boolean": _typed(pa.bool_(), True, False),
    "c_smallint": _typed(pa.int16(), -32768, 32767),
    "c_integer": _typed(pa.int32(), -2147483648, 2147483647),
    "c_bigint": _typed(pa.int64(), -9223372036854775808, 9223372036854775807),
    "c_real": _typed(pa.float32(), 1.5, float("inf")),
    "c_double": _typed(pa.float64(), -2.25, float("-inf")),
    "c_decimal": _typed(pa.decimal128(19, 4), Decimal("123456789012345.6789"), Decimal("-0.0001")),
    "c_numeric": _typed(
        pa.decimal128(38, 10),
        Decimal("1234567890123456789012345678.0123456789"),
        Decimal("-9999999999999999999999999999.9999999999"),
    ),
    # no fixed width holds an unconstrained numeric: PostgreSQL's exact text
    "c_numeric_free": _typed(pa.large_string(), "0.000000000000000000000000000000000001", "NaN"),
    "c_money": _typed(pa.large_string(), "1234.56", "-0.01"),
    "c_char": _typed(pa.large_string(), "ab   ", "abcde"),
    "c_varchar": _typed(pa.large_string(), "hello", ""),
    "c_text": _typed(pa.large_string(), "日本語 text", ""),
    "c_bytea": _typed(pa.large_binary(), b"\x00\x01\x02\x03", b""),
    "c_date": _typed(pa.date32(), date(1, 1, 1), date(9999, 12, 31)),
    "c_time": _typed(pa.large_string(), "23:59:59.999999", "00:00:00"),
    "c_timetz": _typed(pa.large_string(), "12:00:00+05:30", "00:00:00-12"),
    "c_timestamp": _typed(
        pa.timestamp("us"), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1, 1, 1)
    ),
    "c_timestamptz": _typed(
        pa.timestamp("us", tz="UTC"),
        datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
    ),
    "c_interval": _typed(pa.large_string(), "P1Y2M3DT4H5M6.789S", "P-1MT-0.000001S"),
    "c_uuid": _typed(
        pa.large_string(),
        "58185e0d-3a91-44d8-bc46-7107217e0a6d",
        "00000000-0000-0000-0000-000000000000",
    ),
    "c_json": _typed(pa.large_string(), '{"b": 1,  "a": [1]}', "[]"),
    "c_jsonb": _typed(pa.large_string(), '{"a": [1.10], "b": 1}', "{}"),
    "c_int_array": _typed(pa.large_string(), "[1,null,3]", "[]"),
    "c_inet": _typed(pa.large_string(), "192.168.0.1/24", "::1"),
}
