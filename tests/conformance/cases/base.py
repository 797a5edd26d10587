"""What the conformance suite needs from one source: a live database and a way to write to it.

A case is a test-side adapter for one connector. It reaches a live server
(its own, started in-process, or the one named by ``env_var``), makes a fresh
database there, and creates and changes tables with the source's own driver,
so the connector under test is never used to set up what it is tested on.

Adding a source: subclass ``SourceCase`` in ``cases/<name>.py`` and add
``"<name>:<ClassName>"`` to ``CASES`` in ``cases/__init__.py``.
"""

from __future__ import annotations

import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import pyarrow as pa
from hypothesis import strategies as st

from flowservice.connectors.base import Connector
from flowservice.connectors.registry import connectors

# Passwords the suite sends on purpose: none may ever show up in an error or a log.
WRONG_PASSWORD = "Wrong-Conformance-Secret-7"
INVALID_PASSWORD = "Invalid-Conformance-Secret-5"
UNKNOWN_DATABASE = "conformance_no_such_db"
UNKNOWN_HOST = "no-such-host.invalid"

# The logical column types tests build tables from; every case maps each of them.
INT, BIGINT, TEXT, TIMESTAMP, DECIMAL = "int", "bigint", "text", "timestamp", "decimal"
LOGICAL_TYPES = (INT, BIGINT, TEXT, TIMESTAMP, DECIMAL)


@dataclass(frozen=True)
class ColumnType:
    """A logical type as this source declares it and as its connector must carry it.

    ``text`` holds at least 100 characters, ``timestamp`` is without time zone
    with microseconds, ``decimal`` is ``decimal(18,4)``.
    """

    ddl: str
    arrow_type: pa.DataType
    xdm_type: str


@dataclass(frozen=True)
class TypesTable:
    """A table of the source's native types and exactly what ``read`` must return for it.

    ``columns_ddl`` starts with an integer primary key ``id``; ``rows`` are SQL
    row constructors in the source's dialect (``(1, N'x', ...)``); ``expected``
    maps every column to its Arrow type and its values in ``id`` order, as
    ``pa.Table.to_pylist`` gives them.
    """

    columns_ddl: str
    rows: list[str]
    expected: dict[str, tuple[pa.DataType, list[Any]]]


class SourceCase(ABC):
    """One source under test. Use only inside ``fresh_database()``."""

    name: ClassVar[str]  # the test id, e.g. "sqlserver"
    spec_id: ClassVar[str]  # the connection spec id its connector registers under
    auth_spec_name: ClassVar[str]  # the authSpec entry ``auth_params`` follows
    env_var: ClassVar[str]  # names a live server; when set, that server must be reachable
    default_schema: ClassVar[str]  # where ``create_table`` puts tables ("dbo", "public", ...)
    types: ClassVar[Mapping[str, ColumnType]]  # every name of LOGICAL_TYPES
    can_split: ClassVar[bool] = True  # ``split`` must cut a table with one integer key

    @classmethod
    def configured(cls) -> bool:
        """Whether a server can be had: ``env_var`` is set (a case with its own server: always)."""
        return bool(os.environ.get(cls.env_var))

    @abstractmethod
    def fresh_database(self) -> AbstractContextManager[None]:
        """Make an empty database (and the server, if the case runs its own); drop it on exit.

        Raise if the server cannot be reached: a configured server must be there.
        """

    @property
    @abstractmethod
    def password(self) -> str:
        """The live login's password: it must never be echoed either."""

    @abstractmethod
    def auth_params(
        self,
        *,
        password: str | None = None,
        database: str | None = None,
        address: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        """Auth params for the fresh database; each keyword replaces that one setting."""

    @abstractmethod
    def invalid_auth_params(self) -> list[dict[str, Any]]:
        """Params the auth JSON Schema accepts but ``validate_auth`` must refuse.

        Each one carries ``INVALID_PASSWORD`` where a secret (or the tail of one) would
        sit, so the suite can check it is not echoed.
        """

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement (or batch) in the fresh database with the source's driver."""

    @abstractmethod
    def quote(self, identifier: str) -> str:
        """An identifier as it is written in SQL text."""

    @abstractmethod
    def literal(self, value: Any) -> str:
        """A SQL literal for an int, str, Decimal, naive datetime or None."""

    @abstractmethod
    def types_table(self) -> TypesTable:
        """The native types and the exact Arrow values ``read`` must give for them."""

    # --- derived from the above; override when the source differs ------------

    def wrong_password_auth(self) -> dict[str, Any]:
        return self.auth_params(password=WRONG_PASSWORD)

    def unknown_database_auth(self) -> dict[str, Any]:
        return self.auth_params(database=UNKNOWN_DATABASE)

    def unreachable_auth(self) -> dict[str, Any]:
        """A loopback port nobody listens on."""
        return self.auth_params(address=("127.0.0.1", closed_port()))

    def unknown_host_auth(self) -> dict[str, Any]:
        """A host name no resolver knows (RFC 2606 reserves ``.invalid``)."""
        return self.auth_params(address=(UNKNOWN_HOST, 5432))

    def qualified(self, table: str) -> str:
        """The name ``list_objects`` gives a table of ``create_table`` (``dbo.t``, ``public.t``)."""
        return f"{self.default_schema}.{table}"

    def sql_name(self, table: str) -> str:
        """A table of the default schema as it is written in SQL text."""
        return f"{self.quote(self.default_schema)}.{self.quote(table)}"

    def create_table(
        self, name: str, columns_ddl: str, rows: Sequence[Mapping[str, Any]] = ()
    ) -> str:
        """``CREATE TABLE`` in the default schema, then insert ``rows``; the qualified name."""
        self.execute(f"CREATE TABLE {self.sql_name(name)} ({columns_ddl})")
        self.insert(name, rows)
        return self.qualified(name)

    def create_types_table(self, name: str) -> str:
        """The ``types_table()`` under ``name``, filled; the qualified name."""
        types = self.types_table()
        qualified = self.create_table(name, types.columns_ddl)
        self.execute(f"INSERT INTO {self.sql_name(name)} VALUES {', '.join(types.rows)}")
        return qualified

    def create_view(self, name: str, table: str, columns: Sequence[str]) -> str:
        """A view of some columns of a table of the default schema; the qualified name."""
        listed = ", ".join(self.quote(c) for c in columns)
        self.execute(
            f"CREATE VIEW {self.sql_name(name)} AS SELECT {listed} FROM {self.sql_name(table)}"
        )
        return self.qualified(name)

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]], *, chunk: int = 500) -> None:
        """Insert ``rows`` (dicts with the same keys) with multi-row literal ``VALUES``."""
        if not rows:
            return
        columns = list(rows[0])
        listed = ", ".join(self.quote(c) for c in columns)
        for first in range(0, len(rows), chunk):
            values = ", ".join(
                "(" + ", ".join(self.literal(row[c]) for c in columns) + ")"
                for row in rows[first : first + chunk]
            )
            self.execute(f"INSERT INTO {self.sql_name(table)} ({listed}) VALUES {values}")

    def delete_all(self, table: str) -> None:
        self.execute(f"DELETE FROM {self.sql_name(table)}")

    def ddl(self, logical: str) -> str:
        return self.types[logical].ddl

    def connector(self, params: Mapping[str, Any] | None = None) -> Connector:
        """The installed connector for this case's spec, on the live database by default."""
        cls = connectors()[self.spec_id]
        return cls(self.auth_params() if params is None else params)

    def secrets(self) -> tuple[str, ...]:
        """Every password the suite uses against this case."""
        return (self.password, WRONG_PASSWORD, INVALID_PASSWORD)

    def text_values(self) -> st.SearchStrategy[str]:
        """Text every ``text`` column must store and give back unchanged."""
        alphabet = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
        return st.text(alphabet, max_size=40)

    def timestamps(self) -> st.SearchStrategy[datetime]:
        return st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1))

    def decimals(self) -> st.SearchStrategy[Decimal]:
        bound = 10**18 - 1
        return st.integers(-bound, bound).map(lambda v: Decimal(v).scaleb(-4))


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
