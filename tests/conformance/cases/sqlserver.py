"""SQL Server: the in-process emulator, or the server in ``FLOWSERVICE_TEST_SQLSERVER_URL``.

The variable holds an ADO.NET connection string whose login may create
databases (``Data Source=host,port;User ID=sa;Password=...;Encrypt=false``);
each session then works in a database of its own, dropped at the end.
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
LIVE_PASSWORD = "Zq8;Live'Secret=3xK"
LIVE_FRAGMENTS = ("Zq8", "3xK")
DATABASE = "conformance"
# the instant in UTC and the writer's offset (docs/sqlserver-types.md), spelled out here
DATETIMEOFFSET = pa.struct(
    [pa.field("utc", pa.timestamp("us", tz="UTC")), pa.field("offset_minutes", pa.int16())]
)
_ENCRYPT_WORDS = {"mandatory": "true", "optional": "false", "strict": "strict"}


@dataclass(frozen=True)
class _Server:
    host: str
    port: int
    user: str
    password: str
    encrypt: str  # as written in a connection string: true | false | strict
    trust_server_certificate: bool


class SqlServerCase(SourceCase):
    name: ClassVar[str] = "sqlserver"
    spec_id: ClassVar[str] = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
    auth_spec_name: ClassVar[str] = "Connection String Based Authentication"
    env_var: ClassVar[str] = "FLOWSERVICE_TEST_SQLSERVER_URL"
    default_schema: ClassVar[str] = "dbo"
    types: ClassVar[dict[str, ColumnType]] = {
        INT: ColumnType("int", pa.int32(), "integer"),
        BIGINT: ColumnType("bigint", pa.int64(), "integer"),
        TEXT: ColumnType("nvarchar(100)", pa.large_string(), "string"),
        TIMESTAMP: ColumnType("datetime2(6)", pa.timestamp("us"), "date-time"),
        DECIMAL: ColumnType("decimal(18,4)", pa.decimal128(18, 4), "number"),
    }

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._database = DATABASE
        self._cursor: Any = None

    @classmethod
    def configured(cls) -> bool:
        return True  # without the variable, the emulator runs in this process

    @contextmanager
    def fresh_database(self) -> Iterator[None]:
        url = os.environ.get(self.env_var)
        database = self._emulated() if not url else self._created_on(_server_from(url))
        with database:
            yield

    @contextmanager
    def _emulated(self) -> Iterator[None]:
        from mssql_emulator.testing import running_emulator

        with running_emulator(password=LIVE_PASSWORD, database=DATABASE) as emu:
            self._server = _Server(emu.host, emu.port, emu.user, emu.password, "false", False)
            with self._writer():
                yield

    @contextmanager
    def _created_on(self, server: _Server) -> Iterator[None]:
        self._server = server
        self._database = f"conformance_{uuid.uuid4().hex[:12]}"
        admin = _connect(server, "master")
        try:
            admin.cursor().execute(f"CREATE DATABASE {self.quote(self._database)}")
            try:
                with self._writer():
                    yield
            finally:
                admin.cursor().execute(
                    f"ALTER DATABASE {self.quote(self._database)} "
                    f"SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
                    f"DROP DATABASE {self.quote(self._database)}"
                )
        finally:
            admin.close()

    @contextmanager
    def _writer(self) -> Iterator[None]:
        connection = _connect(self._live, self._database)
        self._cursor = connection.cursor()
        try:
            yield
        finally:
            self._cursor = None
            connection.close()

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
        return self._params(password=password, database=database, address=address)

    def unreachable_auth(self) -> dict[str, Any]:
        # past check()'s pre-flight the ODBC driver retries a refused port for the whole
        # Connect Timeout: keep it short so the suite stays fast
        return self._params(address=("127.0.0.1", closed_port()), timeout=1)

    def _params(
        self,
        *,
        password: str | None = None,
        database: str | None = None,
        address: tuple[str, int] | None = None,
        timeout: int = 5,
    ) -> dict[str, Any]:
        server = self._live
        host, port = address or (server.host, server.port)
        text = (
            f"Data Source={host},{port};Initial Catalog={database or self._database};"
            f"User ID={server.user};Password={_quoted(password or server.password)};"
            f"Encrypt={server.encrypt};"
            f"TrustServerCertificate={str(server.trust_server_certificate).lower()};"
            f"Connect Timeout={timeout}"
        )
        return {"connectionString": text}

    def invalid_auth_params(self) -> list[dict[str, Any]]:
        secret = INVALID_PASSWORD
        return [
            {"connectionString": text}
            for text in (
                # the tail of a password cut at an unquoted ';' reads as a keyword
                f"Data Source=h;User ID=u;Password=x;{secret}=y;",
                f"Data Source=h;User ID=u;Password={secret};Integrated Security=SSPI",
                f"Initial Catalog=db;User ID=u;Password={secret}",  # no Data Source
                f"Data Source=h;Password={secret}",  # no User ID
                f"Data Source=h,99999;User ID=u;Password={secret}",
                f"Data Source=h;User ID=u;Password='{secret}",  # quote never closed
                f"{secret}",  # no keyword at all
                f"Data Source=h;User ID=u;Password={secret};Encrypt=maybe",
                f"Data Source=h;User ID=u;Password={secret};Provider=SQLOLEDB",
                "",
            )
        ]

    def secrets(self) -> tuple[str, ...]:
        # a password cut at its ';' or shown with its quotes doubled still gives these away
        return (*super().secrets(), *LIVE_FRAGMENTS)

    def execute(self, sql: str) -> None:
        if self._cursor is None:
            raise RuntimeError("use the case inside fresh_database()")
        self._cursor.execute(sql)

    def quote(self, identifier: str) -> str:
        return "[" + identifier.replace("]", "]]") + "]"

    def literal(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, str):
            return "N'" + value.replace("'", "''") + "'"
        if isinstance(value, datetime) and value.tzinfo is None:
            return f"'{value.isoformat(sep=' ', timespec='microseconds')}'"
        raise TypeError(f"no SQL Server literal for {type(value).__name__}")

    def types_table(self) -> TypesTable:
        return TypesTable(columns_ddl=TYPES_DDL, rows=TYPES_ROWS, expected=TYPES_EXPECTED)


def _quoted(value: str) -> str:
    """An ADO.NET value in single quotes (``'`` doubled), safe whatever it holds."""
    return "'" + value.replace("'", "''") + "'"


def _server_from(url: str) -> _Server:
    from flowservice.connectors.sqlserver.connection_string import parse_connection_string

    settings = parse_connection_string(url)
    return _Server(
        host=settings.host,
        port=settings.port or 1433,
        user=settings.user,
        password=settings.password,
        encrypt=_ENCRYPT_WORDS[settings.encrypt],
        trust_server_certificate=settings.trust_server_certificate,
    )


def _connect(server: _Server, database: str) -> Any:
    import mssql_python

    return mssql_python.connect(
        autocommit=True,
        timeout=10,
        Server=f"tcp:{server.host},{server.port}",
        Database=database,
        UID=server.user,
        PWD=server.password,
        Encrypt={"true": "yes", "false": "no"}.get(server.encrypt, server.encrypt),
        TrustServerCertificate="yes" if server.trust_server_certificate else "no",
    )


TYPES_DDL = """
    id int NOT NULL PRIMARY KEY,
    c_bit bit, c_tinyint tinyint, c_smallint smallint, c_int int, c_bigint bigint,
    c_real real, c_float float,
    c_decimal decimal(19,4), c_numeric numeric(38,10), c_money money, c_smallmoney smallmoney,
    c_char char(5), c_varchar varchar(20), c_nchar nchar(3), c_nvarchar nvarchar(50),
    c_nvarchar_max nvarchar(max),
    c_binary binary(4), c_varbinary varbinary(10), c_varbinary_max varbinary(max),
    c_date date, c_time time(6), c_datetime datetime, c_smalldatetime smalldatetime,
    c_datetime2 datetime2(6), c_datetimeoffset datetimeoffset(6),
    c_uniqueidentifier uniqueidentifier
"""

TYPES_ROWS = [
    """(1, 1, 255, -32768, -2147483648, -9223372036854775808, 1.5, -2.25,
    123456789012345.6789, 1234567890123456789012345678.0123456789,
    -922337203685477.5808, 214748.3647,
    'ab', 'hello', N'äö', N'日本語 text', N'long ',
    0x00010203, 0xDEADBEEF, 0x0A,
    '0001-01-01', '23:59:59.999999', '1900-01-01 00:00:00', '2079-06-06 23:59:00',
    '9999-12-31 23:59:59.999999', '2024-05-01 10:30:00.123456 +02:00',
    '58185E0D-3A91-44D8-BC46-7107217E0A6D')""",
    "(2, " + ", ".join(["NULL"] * 26) + ")",
    """(3, 0, 0, 32767, 2147483647, 9223372036854775807, -3.5, 1e300,
    -0.0001, -9999999999999999999999999999.9999999999,
    922337203685477.5807, -214748.3648,
    'abcde', '', N'x', N'', N'',
    0xFFFFFFFF, 0x00, 0x0102,
    '9999-12-31', '00:00:00', '2024-02-29 12:34:56.997', '2024-02-29 12:35:00',
    '0001-01-01 00:00:00', '0001-01-01 14:00:00 +14:00',
    '00000000-0000-0000-0000-000000000000')""",
]


def _typed(arrow_type: pa.DataType, first: Any, third: Any) -> tuple[pa.DataType, list[Any]]:
    return arrow_type, [first, None, third]


TYPES_EXPECTED: dict[str, tuple[pa.DataType, list[Any]]] = {
    "id": (pa.int32(), [1, 2, 3]),
    "c_bit": _typed(pa.bool_(), True, False),
    "c_tinyint": _typed(pa.int16(), 255, 0),
    "c_smallint": _typed(pa.int16(), -32768, 32767),
    "c_int": _typed(pa.int32(), -2147483648, 2147483647),
    "c_bigint": _typed(pa.int64(), -9223372036854775808, 9223372036854775807),
    "c_real": _typed(pa.float32(), 1.5, -3.5),
    "c_float": _typed(pa.float64(), -2.25, 1e300),
    "c_decimal": _typed(pa.decimal128(19, 4), Decimal("123456789012345.6789"), Decimal("-0.0001")),
    "c_numeric": _typed(
        pa.decimal128(38, 10),
        Decimal("1234567890123456789012345678.0123456789"),
        Decimal("-9999999999999999999999999999.9999999999"),
    ),
    "c_money": _typed(
        pa.decimal128(19, 4), Decimal("-922337203685477.5808"), Decimal("922337203685477.5807")
    ),
    "c_smallmoney": _typed(pa.decimal128(10, 4), Decimal("214748.3647"), Decimal("-214748.3648")),
    "c_char": _typed(pa.large_string(), "ab   ", "abcde"),
    "c_varchar": _typed(pa.large_string(), "hello", ""),
    "c_nchar": _typed(pa.large_string(), "äö ", "x  "),
    "c_nvarchar": _typed(pa.large_string(), "日本語 text", ""),
    "c_nvarchar_max": _typed(pa.large_string(), "long ", ""),
    "c_binary": _typed(pa.large_binary(), b"\x00\x01\x02\x03", b"\xff\xff\xff\xff"),
    "c_varbinary": _typed(pa.large_binary(), b"\xde\xad\xbe\xef", b"\x00"),
    "c_varbinary_max": _typed(pa.large_binary(), b"\n", b"\x01\x02"),
    "c_date": _typed(pa.date32(), date(1, 1, 1), date(9999, 12, 31)),
    "c_time": _typed(pa.large_string(), "23:59:59.999999", "00:00:00"),
    "c_datetime": _typed(
        pa.timestamp("us"), datetime(1900, 1, 1), datetime(2024, 2, 29, 12, 34, 56, 997000)
    ),
    "c_smalldatetime": _typed(
        pa.timestamp("us"), datetime(2079, 6, 6, 23, 59), datetime(2024, 2, 29, 12, 35)
    ),
    "c_datetime2": _typed(
        pa.timestamp("us"), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1, 1, 1)
    ),
    "c_datetimeoffset": _typed(
        DATETIMEOFFSET,
        {"utc": datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=UTC), "offset_minutes": 120},
        {"utc": datetime(1, 1, 1, tzinfo=UTC), "offset_minutes": 840},
    ),
    "c_uniqueidentifier": _typed(
        pa.large_string(),
        "58185e0d-3a91-44d8-bc46-7107217e0a6d",
        "00000000-0000-0000-0000-000000000000",
    ),
}
