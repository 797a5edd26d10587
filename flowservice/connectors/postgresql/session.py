"""Connecting: parsed settings → libpq keywords, a psycopg cursor for the catalog and an
ADBC cursor for Arrow reads, every driver error translated in one place.

Each session fixes the settings that change how values are written as text
(UTC, ISO dates, ISO 8601 intervals, shortest exact floats) and is read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from flowservice.connectors.postgresql.connection_string import ConnectionSettings
from flowservice.connectors.postgresql.errors import classify

if TYPE_CHECKING:
    import psycopg

SESSION_SETTINGS = (
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'iso_8601'",
    "SET extra_float_digits = 3",
    "SET default_transaction_read_only = on",
)


def libpq_keywords(settings: ConnectionSettings) -> dict[str, str]:
    """libpq connection keywords for ``settings`` (the password among them)."""
    keywords = {
        "host": settings.host,
        "port": str(settings.port),
        "dbname": settings.database,
        "user": settings.user,
        "password": settings.password,
        "sslmode": settings.sslmode,
        "connect_timeout": str(settings.connect_timeout),
        "application_name": settings.application_name,
    }
    if settings.sslmode == "verify-full":
        # without a CA file of its own, trust the system's CA store (libpq 16 and later)
        keywords["sslrootcert"] = settings.trust_store or "system"
    elif settings.trust_store is not None:
        keywords["sslrootcert"] = settings.trust_store
    return keywords


def conninfo(settings: ConnectionSettings) -> str:
    """The libpq conninfo string, values quoted by psycopg's own rules."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**libpq_keywords(settings))


@contextmanager
def catalog_cursor(settings: ConnectionSettings) -> Iterator[psycopg.Cursor[Any]]:
    """A psycopg cursor on a fresh autocommit connection, closed afterwards."""
    import psycopg

    try:
        connection = psycopg.connect(conninfo(settings), autocommit=True)
    except psycopg.Error as exc:
        raise classify(exc, settings) from exc
    try:
        with connection.cursor() as cursor:
            try:
                for statement in SESSION_SETTINGS:
                    cursor.execute(statement)  # type: ignore[arg-type]  # fixed text
                yield cursor
            except psycopg.Error as exc:
                raise classify(exc, settings) from exc
    finally:
        connection.close()


@contextmanager
def arrow_cursor(settings: ConnectionSettings) -> Iterator[Any]:
    """An ADBC (libpq, binary COPY) cursor for Arrow reads, closed afterwards."""
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc

    try:
        connection = adbc.connect(conninfo(settings), autocommit=True)
    except adbc_driver_manager.Error as exc:
        raise classify(exc, settings) from exc
    try:
        cursor = connection.cursor()
        try:
            for statement in SESSION_SETTINGS:
                cursor.execute(statement)
            yield cursor
        except adbc_driver_manager.Error as exc:
            raise classify(exc, settings) from exc
        finally:
            _quietly_close(cursor)
    finally:
        _quietly_close(connection)


def _quietly_close(resource: Any) -> None:
    """Close after a failure without letting the close hide the failure."""
    with suppress(Exception):  # the first error is the one worth reporting
        resource.close()


def check_connection(settings: ConnectionSettings) -> None:
    """Connect once and run a trivial query; a classified ``ConnectorError`` when that fails."""
    with catalog_cursor(settings) as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchall()
