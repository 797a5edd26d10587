"""MariaDB (and the MySQL spec on it): the server in ``FLOWSERVICE_TEST_MARIADB_URL``.

The variable holds ``mysql://user:password@host:port/`` (``.ci/start-mariadb.sh``)
for a login that may create databases, users and grants. Each session works in a
database ``conformance_<random>`` (utf8mb4) of its own, written to by that admin
login through PyMySQL, and dropped at the end.

The connector under test logs in as a dedicated user made for the session,
with ``LIVE_PASSWORD`` (it holds ``;``, both quotes and ``=``, so the connection
string has to quote it and every error path has to keep it out) and only
``SELECT`` and ``SHOW VIEW`` on the fresh database. Its connection string names
that database too, so ``list_objects`` lists exactly the suite's tables.

MySQL names a table ``database.table`` (its schema is its database), so
``qualified`` and ``sql_name`` use the fresh database's name.

``MySqlCase`` runs the same suite through the MySQL spec (``26d738e0-...``) on the
same MariaDB server: the two specs share one connector (``MariaDbConnector``
only changes the spec id), so this checks the MySQL spec, its registration and
the connector class registered under it -- not MySQL's own server behaviour,
for which no MySQL server is available here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    ColumnType,
    SourceCase,
    TypesTable,
    closed_port,
)

# characters a connection string must quote: the connector has to read it, never echo any of it
LIVE_PASSWORD = "My7;Live'Secret\"=4qT"
LIVE_FRAGMENTS = ("My7", "4qT")
# the hosts a TCP login from this machine may be matched by (an anonymous ''@'localhost'
# would otherwise win over 'user'@'%')
LOGIN_HOSTS = ("%", "localhost")


@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    user: str
    password: str


class MariaDbCase(SourceCase):
    name: ClassVar[str] = "mariadb"
    spec_id: ClassVar[str] = "3000eb99-cd47-43f3-827c-43caf170f015"
    auth_spec_name: ClassVar[str] = "Connection String Based Authentication"
    env_var: ClassVar[str] = "FLOWSERVICE_TEST_MARIADB_URL"
    default_schema: ClassVar[str] = ""  # tables go in the fresh database: see qualified()
    types: ClassVar[dict[str, ColumnType]] = {
        INT: ColumnType("int", pa.int32(), "integer"),
        BIGINT: ColumnType("bigint", pa.int64(), "integer"),
        TEXT: ColumnType("varchar(100)", pa.large_string(), "string"),
        TIMESTAMP: ColumnType("datetime(6)", pa.timestamp("us"), "date-time"),
        DECIMAL: ColumnType("decimal(18,4)", pa.decimal128(18, 4), "number"),
    }

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._login = ""
        self._database = ""
        self._cursor: Any = None

    @contextmanager
    def fresh_database(self) -> Iterator[None]:
        admin = _server_from(os.environ[self.env_var])
        token = uuid.uuid4().hex[:12]
        self._database = f"conformance_{token}"
        self._login = f"conf_{token}"
        connection = _connect(admin, None)
        try:
            cursor = connection.cursor()
            cursor.execute(
                f"CREATE DATABASE {self.quote(self._database)} "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
            try:
                for host in LOGIN_HOSTS:
                    # with arguments pymysql formats with %: the host's % is written %%
                    account = self._account(host).replace("%", "%%")
                    cursor.execute(f"CREATE USER {account} IDENTIFIED BY %s", (LIVE_PASSWORD,))
                    cursor.execute(
                        f"GRANT SELECT, SHOW VIEW ON {self.quote(self._database)}.* "
                        f"TO {self._account(host)}"
                    )
                self._server = _Server(admin.host, admin.port, self._login, LIVE_PASSWORD)
                cursor.execute(f"USE {self.quote(self._database)}")
                self._cursor = cursor
                yield
            finally:
                self._cursor = None
                for host in LOGIN_HOSTS:
                    cursor.execute(f"DROP USER IF EXISTS {self._account(host)}")
                cursor.execute(f"DROP DATABASE IF EXISTS {self.quote(self._database)}")
        finally:
            connection.close()

    def _account(self, host: str) -> str:
        return f"'{self._login}'@'{host}'"

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
        # Adobe's order (Server;Port;Database;UID;PWD), then the optional keywords
        text = (
            f"Server={host};Port={port};Database={database or self._database};"
            f"UID={server.user};PWD={_quoted(password or server.password)};"
            "Connect Timeout=5"
        )
        return {"connectionString": text}

    def unreachable_auth(self) -> dict[str, Any]:
        return self.auth_params(address=("127.0.0.1", closed_port()))

    def invalid_auth_params(self) -> list[dict[str, Any]]:
        secret = INVALID_PASSWORD
        head = "Server=h;Port=3306;Database=d;UID=u"
        return [
            {"connectionString": text}
            for text in (
                # the tail of a password cut at an unquoted ';' reads as a keyword
                f"{head};PWD=x;{secret}=y",
                f"{head};PWD=x;{secret}",  # ... or as a part without '='
                f"{head};PWD={secret};Bogus=1",
                f"Server=;Port=3306;Database=d;UID=u;PWD={secret}",  # no host
                f"Server=h;Port=3306;Database=d;UID=;PWD={secret}",  # no user
                f"Port=3306;Database=d;UID=u;PWD={secret}",  # no Server at all
                f"Server=h x;Port=3306;Database=d;UID=u;PWD={secret}",
                f"Server=h;Port=99999;Database=d;UID=u;PWD={secret}",
                f"{head};PWD='{secret}",  # quote never closed
                f"{head};PWD='{secret}'x",  # text after the closing quote
                f"{head};PWD={secret};SslMode=maybe",
                f"{head};PWD={secret};Connect Timeout=0",
                f"{head};PWD={secret}\x00",
                f"{secret}",  # no keyword at all
                "",
            )
        ]

    def secrets(self) -> tuple[str, ...]:
        # a password cut at its ';' or shown with its quotes doubled still gives these away
        return (*super().secrets(), *LIVE_FRAGMENTS)

    def qualified(self, table: str) -> str:
        return f"{self._database}.{table}"

    def sql_name(self, table: str) -> str:
        return f"{self.quote(self._database)}.{self.quote(table)}"

    def execute(self, sql: str) -> None:
        if self._cursor is None:
            raise RuntimeError("use the case inside fresh_database()")
        self._cursor.execute(sql)

    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    def literal(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, str):
            # the default sql_mode reads backslash escapes in strings: escape both
            return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        if isinstance(value, datetime) and value.tzinfo is None:
            return f"'{value.isoformat(sep=' ', timespec='microseconds')}'"
        raise TypeError(f"no MariaDB literal for {type(value).__name__}")

    def types_table(self) -> TypesTable:
        return TypesTable(columns_ddl=TYPES_DDL, rows=TYPES_ROWS, expected=TYPES_EXPECTED)


class MySqlCase(MariaDbCase):
    """The MySQL spec's connector on the same MariaDB server (see the module docstring)."""

    name: ClassVar[str] = "mysql-on-mariadb"
    spec_id: ClassVar[str] = "26d738e0-8963-47ea-aadf-c60de735468a"


def _quoted(value: str) -> str:
    """A connection-string value in single quotes (``'`` doubled), safe whatever it holds."""
    return "'" + value.replace("'", "''") + "'"


def _server_from(url: str) -> _Server:
    parts = urlsplit(url)
    if not parts.scheme.startswith(("mysql", "mariadb")) or not parts.hostname:
        raise ValueError("expected mysql://user:password@host:port/")
    return _Server(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _connect(server: _Server, database: str | None) -> Any:
    import pymysql

    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=10,
        # TIMESTAMP literals are written as UTC, as the connector reads them
        init_command="SET time_zone = '+00:00'",
    )


TYPES_DDL = """
    id int NOT NULL PRIMARY KEY,
    c_bool bool, c_tinyint_unsigned tinyint unsigned, c_smallint smallint,
    c_mediumint mediumint, c_int_unsigned int unsigned, c_bigint bigint,
    c_bigint_unsigned bigint unsigned,
    c_float float, c_double double,
    c_decimal decimal(19,4), c_decimal_wide decimal(38,10), c_decimal_huge decimal(65,30),
    c_bit1 bit(1), c_bit64 bit(64), c_year year,
    c_char char(5), c_varchar varchar(20), c_text text, c_enum enum('red','green'),
    c_set set('a','b','c'), c_json json,
    c_binary binary(4), c_varbinary varbinary(10), c_blob blob,
    c_date date, c_time time(6), c_datetime datetime(6), c_timestamp timestamp(6) NULL,
    c_uuid uuid, c_inet6 inet6
"""

TYPES_ROWS = [
    """(1, TRUE, 255, -32768, -8388608, 4294967295, -9223372036854775808,
    18446744073709551615, 1.5, -2.25,
    123456789012345.6789, 1234567890123456789012345678.0123456789,
    12345678901234567890123456789012345.123456789012345678901234567891,
    b'1', b'1000000000000000000000000000000000000000000000000000000000000001', 2155,
    'ab', 'hello', '日本語 text 😀', 'green', 'a,c', '{"b": 1,  "a": [1]}',
    0x00010203, 0xDEADBEEF, 0x0A,
    '0001-01-01', '-838:59:59.000000', '9999-12-31 23:59:59.999999',
    '2038-01-19 03:14:07.999999',
    '58185E0D-3A91-44D8-BC46-7107217E0A6D', '2001:db8::ff00:42:8329')""",
    "(2, " + ", ".join(["NULL"] * 30) + ")",
    """(3, FALSE, 0, 32767, 8388607, 0, 9223372036854775807,
    0, -3.5, 1e300,
    -0.0001, -9999999999999999999999999999.9999999999, 0.000000000000000000000000000001,
    b'0', b'0', 1901,
    'abcde', '', '', 'red', '', '[]',
    0xFFFFFFFF, 0x00, '',
    '9999-12-31', '838:59:59.999999', '1000-01-01 00:00:00', '1970-01-01 00:00:01',
    '00000000-0000-0000-0000-000000000000', '::1')""",
]


def _typed(arrow_type: pa.DataType, first: Any, third: Any) -> tuple[pa.DataType, list[Any]]:
    return arrow_type, [first, None, third]


TYPES_EXPECTED: dict[str, tuple[pa.DataType, list[Any]]] = {
    "id": (pa.int32(), [1, 2, 3]),
    # BOOL is tinyint(1), which holds -128..127: an integer (docs/sources/mysql-mariadb.md)
    "c_bool": _typed(pa.int8(), 1, 0),
    "c_tinyint_unsigned": _typed(pa.uint8(), 255, 0),
    "c_smallint": _typed(pa.int16(), -32768, 32767),
    "c_mediumint": _typed(pa.int32(), -8388608, 8388607),
    "c_int_unsigned": _typed(pa.uint32(), 4294967295, 0),
    "c_bigint": _typed(pa.int64(), -9223372036854775808, 9223372036854775807),
    "c_bigint_unsigned": _typed(pa.uint64(), 18446744073709551615, 0),
    "c_float": _typed(pa.float32(), 1.5, -3.5),
    "c_double": _typed(pa.float64(), -2.25, 1e300),
    "c_decimal": _typed(pa.decimal128(19, 4), Decimal("123456789012345.6789"), Decimal("-0.0001")),
    "c_decimal_wide": _typed(
        pa.decimal128(38, 10),
        Decimal("1234567890123456789012345678.0123456789"),
        Decimal("-9999999999999999999999999999.9999999999"),
    ),
    # past 38 digits no decimal128 holds it: MariaDB's exact text
    "c_decimal_huge": _typed(
        pa.large_string(),
        "12345678901234567890123456789012345.123456789012345678901234567891",
        "0.000000000000000000000000000001",
    ),
    "c_bit1": _typed(pa.bool_(), True, False),
    "c_bit64": _typed(pa.uint64(), 2**63 + 1, 0),
    "c_year": _typed(pa.int16(), 2155, 1901),
    # MariaDB strips CHAR's trailing pad spaces when it reads them
    "c_char": _typed(pa.large_string(), "ab", "abcde"),
    "c_varchar": _typed(pa.large_string(), "hello", ""),
    "c_text": _typed(pa.large_string(), "日本語 text 😀", ""),
    "c_enum": _typed(pa.large_string(), "green", "red"),
    "c_set": _typed(pa.large_string(), "a,c", ""),
    # MariaDB's JSON is checked text, kept as written
    "c_json": _typed(pa.large_string(), '{"b": 1,  "a": [1]}', "[]"),
    "c_binary": _typed(pa.large_binary(), b"\x00\x01\x02\x03", b"\xff\xff\xff\xff"),
    "c_varbinary": _typed(pa.large_binary(), b"\xde\xad\xbe\xef", b"\x00"),
    "c_blob": _typed(pa.large_binary(), b"\n", b""),
    "c_date": _typed(pa.date32(), date(1, 1, 1), date(9999, 12, 31)),
    # TIME is a duration of up to ±838 hours: exact text
    "c_time": _typed(pa.large_string(), "-838:59:59.000000", "838:59:59.999999"),
    "c_datetime": _typed(
        pa.timestamp("us"), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1000, 1, 1)
    ),
    "c_timestamp": _typed(
        pa.timestamp("us", tz="UTC"),
        datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=UTC),
        datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
    ),
    "c_uuid": _typed(
        pa.large_string(),
        "58185e0d-3a91-44d8-bc46-7107217e0a6d",
        "00000000-0000-0000-0000-000000000000",
    ),
    "c_inet6": _typed(pa.large_string(), "2001:db8::ff00:42:8329", "::1"),
}
