"""The boundary between the TDS front end and the SQL engine.

The front end (``mssql_emulator.tds`` and ``mssql_emulator.server``) speaks the
wire protocol; the engine (``mssql_emulator.engine``) runs T-SQL on DuckDB.
They meet only through the types below, so either side can change freely.

Values cross as Arrow arrays, one representation per SQL Server type:

==========================  =============================================
SQL Server type             Arrow type of the column the engine yields
==========================  =============================================
bit                         bool
tinyint/smallint/int/bigint any integer type (values within the SQL range)
decimal/numeric(p,s)        decimal128 (scale == s)
money / smallmoney          decimal128(19,4) / decimal128(10,4)
real / float                float32 / float64
char/varchar/nchar/nvarchar string or large_string (max too)
binary/varbinary            binary or large_binary (max too)
date                        date32
time(s)                     time64('us'); time64('ns') for s == 7
datetime2(s)                timestamp('us'), no time zone; for s == 7 also
                            uint64 100 ns ticks since 0001-01-01 00:00:00
datetime / smalldatetime    timestamp('us') (already rounded by the engine)
datetimeoffset(s)           struct<utc, offset: int16 minutes>: utc as int64 100 ns
                            ticks since 0001-01-01 UTC (timestamp('us') also read)
uniqueidentifier            string, canonical 36-character form
==========================  =============================================

Precision: time(7) keeps all 7 fractional digits (100 ns ticks, DuckDB TIME_NS), and so
do datetime2(7) and datetimeoffset, as counts of ticks (DuckDB UBIGINT and BIGINT):
TIMESTAMP_NS would only span 1677-09-21..2262-04-11.  The front end encodes exact ticks
from any time64/timestamp column in 'ns' and from integer tick counts.

Parameters arrive decoded to Python values (``int``, ``float``, ``bool``,
``decimal.Decimal``, ``str``, ``bytes``, ``datetime.date``, ``datetime.time``,
``datetime.datetime`` (aware for datetimeoffset), ``uuid.UUID`` or ``None``)
together with the type the client declared.  A time(7), datetime2(7) or
datetimeoffset(7) value whose 7th digit is not 0 arrives as its text,
``hh:mm:ss.fffffff``, ``yyyy-mm-dd hh:mm:ss.fffffff`` or
``yyyy-mm-dd hh:mm:ss.fffffff +hh:mm`` (local time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa


@dataclass(frozen=True)
class SqlType:
    """A declared SQL Server type, e.g. ``nvarchar(50)`` or ``decimal(19,4)``.

    ``length`` counts characters for char types and bytes for binary types,
    ``-1`` meaning ``max``; ``scale`` is also the fractional-second digits of
    time, datetime2 and datetimeoffset.  A ``sql_variant`` result column carries the
    ``base`` type its values share (None when unknown, e.g. a stored sql_variant column).
    """

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    base: SqlType | None = None

    def __str__(self) -> str:
        if self.name == "xml":
            return self.name
        if self.length is not None:
            return f"{self.name}({'max' if self.length == -1 else self.length})"
        if self.name in ("decimal", "numeric"):
            return f"{self.name}({self.precision},{self.scale})"
        if self.name in ("time", "datetime2", "datetimeoffset") and self.scale is not None:
            return f"{self.name}({self.scale})"
        return self.name


# SQL Server's system type ids (sys.types.system_type_id), shared by catalogs and describe results.
SYSTEM_TYPE_IDS = {
    "image": 34,
    "text": 35,
    "uniqueidentifier": 36,
    "date": 40,
    "time": 41,
    "datetime2": 42,
    "datetimeoffset": 43,
    "tinyint": 48,
    "smallint": 52,
    "int": 56,
    "smalldatetime": 58,
    "real": 59,
    "money": 60,
    "datetime": 61,
    "float": 62,
    "sql_variant": 98,
    "ntext": 99,
    "bit": 104,
    "decimal": 106,
    "numeric": 108,
    "smallmoney": 122,
    "bigint": 127,
    "varbinary": 165,
    "varchar": 167,
    "binary": 173,
    "char": 175,
    "timestamp": 189,
    "nvarchar": 231,
    "nchar": 239,
    "xml": 241,
    "sysname": 256,
}

# The CLR types share system_type_id 240 and differ by user_type_id (sys.types).
CLR_SYSTEM_TYPE_ID = 240
CLR_TYPE_IDS = {"hierarchyid": 128, "geometry": 129, "geography": 130}
CLR_MAX_LENGTHS = {"hierarchyid": 892, "geometry": -1, "geography": -1}

# Byte sizes SQL Server reports for fixed-length types (sys.columns.max_length).
FIXED_BYTE_LENGTHS = {
    "bit": 1,
    "tinyint": 1,
    "smallint": 2,
    "int": 4,
    "bigint": 8,
    "money": 8,
    "smallmoney": 4,
    "real": 4,
    "float": 8,
    "date": 3,
    "datetime": 8,
    "smalldatetime": 4,
    "uniqueidentifier": 16,
}

# Precision SQL Server reports for types that take none (sys.columns.precision); decimal,
# numeric and the scaled time types derive theirs from their declaration.
FIXED_PRECISIONS = {
    "bit": 1,
    "tinyint": 3,
    "smallint": 5,
    "int": 10,
    "bigint": 19,
    "money": 19,
    "smallmoney": 10,
    "real": 24,
    "float": 53,
    "date": 10,
    "datetime": 23,
    "smalldatetime": 16,
}


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True
    identity: bool = False


@dataclass
class ResultSet:
    """Rows of one SELECT; ``batches`` is consumed once, lazily."""

    columns: list[Column]
    batches: Iterator[pa.RecordBatch]


@dataclass(frozen=True)
class Message:
    """An informational message (TDS INFO token), e.g. 5701 after USE."""

    number: int
    message: str
    severity: int = 0
    state: int = 1


@dataclass
class StatementResult:
    """What one statement of a batch produced.

    ``rowcount`` is the affected/selected row count when SQL Server reports one
    (SELECT after its rows are read, INSERT/UPDATE/DELETE), else ``None``.
    ``database`` is set when the statement changed the current database.
    ``return_status`` is a stored procedure's return status (``EXEC``), else ``None``.
    ``outputs`` holds the new values of arguments passed ``OUTPUT`` to that procedure: one
    row, a column per formal parameter (named ``@name``) in declared order.
    """

    result_set: ResultSet | None = None
    rowcount: int | None = None
    messages: list[Message] = field(default_factory=list)
    database: str | None = None
    return_status: int | None = None
    outputs: ResultSet | None = None


@dataclass(frozen=True)
class Param:
    name: str
    type: SqlType
    value: Any
    output: bool = False


class SqlError(Exception):
    """An error exactly as SQL Server reports it (number, severity, state, text)."""

    def __init__(
        self, number: int, message: str, *, severity: int = 16, state: int = 1, line: int = 1
    ) -> None:
        super().__init__(message)
        self.number = number
        self.message = message
        self.severity = severity
        self.state = state
        self.line = line


class Session(Protocol):
    """One client connection's view of the engine: current database, transaction."""

    database: str

    def execute(self, sql: str, params: list[Param] | None = None) -> Iterator[StatementResult]:
        """Run a T-SQL batch, yielding one result per statement as it completes.

        A failing statement raises ``SqlError`` from the iterator; the session
        stays usable (the front end reports the error and goes on).
        """
        ...

    def begin(self, isolation_level: int = 0) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    def describe_parameters(self, sql: str) -> list[Column]:
        """``sp_describe_undeclared_parameters``; may return [] to let drivers fall back."""
        ...

    def cancel(self) -> None:
        """Interrupt the running statement (TDS attention); safe from another thread."""
        ...

    def close(self) -> None: ...


class Engine(Protocol):
    """The databases behind one emulator; shared by all sessions."""

    def has_database(self, name: str) -> bool: ...
    def open_session(self, database: str, user: str) -> Session: ...
    def close(self) -> None: ...
