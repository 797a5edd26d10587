"""Databases: SQL Server's system databases, CREATE DATABASE and DROP DATABASE."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from mssql_emulator.contract import SqlError, StatementResult
from mssql_emulator.engine.tsql_text import split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

# SQL Server's fixed database ids; user databases are numbered from 5.
SYSTEM_DATABASES = {"master": 1, "tempdb": 2, "model": 3, "msdb": 4}
FIRST_USER_DATABASE_ID = 5

_NAME = r"(\[(?:[^\]]|\]\])+\]|\"(?:[^\"]|\"\")+\"|[\w@#$]+)"
CREATE_DATABASE = re.compile(rf"^CREATE\s+DATABASE\s+{_NAME}(.*)$", re.I | re.S)
DROP_DATABASE = re.compile(
    rf"^DROP\s+DATABASE\s+(IF\s+EXISTS\s+)?({_NAME}(?:\s*,\s*{_NAME})*)\s*;?\s*$", re.I | re.S
)


class DatabaseHost(Protocol):
    """What the statements below need from the engine."""

    def resolve_database(self, name: str) -> str | None: ...

    def create_database(self, name: str) -> None: ...

    def drop_database(self, name: str) -> None: ...

    def database_in_use(self, name: str, *, besides: int) -> bool: ...


def system_database_id(name: str) -> int | None:
    return SYSTEM_DATABASES.get(name.lower())


def _unquote(text: str) -> str:
    parts = split_name(text)
    return parts[-1] if parts else text


def create(session: DuckDBSession, host: DatabaseHost, match: re.Match[str]) -> StatementResult:
    """``CREATE DATABASE name [options]``: a new empty database (options are ignored)."""
    name = _unquote(match.group(1))
    if session.in_transaction:
        raise SqlError(
            226, "CREATE DATABASE statement not allowed within multi-statement transaction."
        )
    if host.resolve_database(name) is not None:
        raise SqlError(1801, f"Database '{name}' already exists. Choose a different database name.")
    if len(name) > 128 or not name.strip():
        raise SqlError(102, f"Incorrect syntax near '{name}'.", severity=15)
    host.create_database(name)
    return StatementResult()


def drop(session: DuckDBSession, host: DatabaseHost, match: re.Match[str]) -> StatementResult:
    """``DROP DATABASE [IF EXISTS] name [, …]``."""
    if session.in_transaction:
        raise SqlError(
            226, "DROP DATABASE statement not allowed within multi-statement transaction."
        )
    if_exists = bool(match.group(1))
    for text in re.split(r",(?![^\[]*\])", match.group(2)):
        name = _unquote(text.strip())
        resolved = host.resolve_database(name)
        if resolved is None:
            if if_exists:
                continue
            raise SqlError(
                3701,
                f"Cannot drop the database '{name}', because it does not exist or you do not "
                "have permission.",
                severity=11,
            )
        if system_database_id(resolved) is not None:
            raise SqlError(
                3708, f"Cannot drop the database '{resolved}' because it is a system database."
            )
        if resolved.lower() == session.database.lower() or host.database_in_use(
            resolved, besides=session.spid
        ):
            raise SqlError(
                3702, f'Cannot drop database "{resolved}" because it is currently in use.'
            )
        host.drop_database(resolved)
    return StatementResult()
