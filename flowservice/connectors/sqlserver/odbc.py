"""The one translation from parsed settings to mssql-python's ODBC keywords, and connecting."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flowservice.connectors.sqlserver.connection_string import ConnectionSettings
from flowservice.connectors.sqlserver.errors import classify, known_error, unreachable
from flowservice.errors import ConnectorError, SourceSystemError

if TYPE_CHECKING:
    from mssql_python import Connection, Cursor

DEFAULT_PORT = 1433
_ENCRYPT = {"mandatory": "yes", "optional": "no", "strict": "strict"}


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def server_value(settings: ConnectionSettings) -> str:
    """ODBC ``Server``: ``tcp:host,port`` when a port is known, else ``host[\\instance]``."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    if settings.port is not None:
        return f"tcp:{host},{settings.port}"  # an explicit port wins over an instance name
    if settings.instance is not None:
        return f"{host}\\{settings.instance}"
    return f"tcp:{host},{DEFAULT_PORT}"


def odbc_keywords(settings: ConnectionSettings) -> dict[str, str]:
    """mssql-python connect keywords (ODBC Driver 18 names) for ``settings``.

    ``Application Name`` is not forwarded: mssql-python reserves ``APP`` for itself.
    """
    keywords = {
        "Server": server_value(settings),
        "UID": settings.user,
        "PWD": settings.password,
        "Encrypt": _ENCRYPT[settings.encrypt],
        "TrustServerCertificate": _yes_no(settings.trust_server_certificate),
        "ApplicationIntent": settings.application_intent,
        "MultiSubnetFailover": _yes_no(settings.multi_subnet_failover),
    }
    if settings.database is not None:
        keywords["Database"] = settings.database
    if settings.host_name_in_certificate is not None:
        keywords["HostnameInCertificate"] = settings.host_name_in_certificate
    if settings.packet_size is not None:
        keywords["PacketSize"] = str(settings.packet_size)
    return keywords


def connect(settings: ConnectionSettings, login_timeout: int | None = None) -> Connection:
    """Open an autocommit connection within the connect timeout; driver errors translated."""
    import mssql_python  # heavy native module: imported only when a connection is made

    keywords: dict[str, Any] = dict(odbc_keywords(settings))
    try:
        return mssql_python.connect(
            autocommit=True, timeout=login_timeout or settings.connect_timeout, **keywords
        )
    except mssql_python.Error as exc:
        error = classify(exc, settings)
        if getattr(error, "reason", None) == "login_failed" and "Database" in keywords:
            error = _login_or_database(keywords, settings, error)
        raise error from exc
    except mssql_python.ConnectionStringParseError as exc:
        # its message quotes parts of the string, which holds the password
        raise SourceSystemError("The driver rejected the translated connection string.") from exc


def _login_or_database(
    keywords: dict[str, Any], settings: ConnectionSettings, login_failed: ConnectorError
) -> ConnectorError:
    """Tell a wrong password from an unknown database.

    An unknown database ends in 18456 too (SQL Server sends 4060 first, but
    mssql-python reports only the last message), so log in once more without
    a database: if that works, the database is what is wrong.
    """
    import mssql_python

    without_database = {k: v for k, v in keywords.items() if k != "Database"}
    try:
        probe = mssql_python.connect(
            autocommit=True, timeout=settings.connect_timeout, **without_database
        )
    except mssql_python.Error:
        return login_failed
    probe.close()
    return known_error(4060, settings)


@contextmanager
def session(settings: ConnectionSettings, login_timeout: int | None = None) -> Iterator[Cursor]:
    """A cursor on a fresh connection, closed afterwards; driver errors translated.

    Without ``login_timeout`` the host and port are probed first (``preflight``): a
    refused port then fails at once instead of after the driver's retries.
    """
    import mssql_python

    if login_timeout is None:
        login_timeout = preflight(settings)
    connection = connect(settings, login_timeout)
    try:
        cursor = connection.cursor()
        try:
            yield cursor
        except mssql_python.Error as exc:
            raise classify(exc, settings) from exc
        finally:
            cursor.close()
    finally:
        connection.close()


def preflight(settings: ConnectionSettings) -> int:
    """Resolve the host and open the TCP port first, so each failure gets its own message fast.

    Returns the whole seconds left of the connect timeout (at least 1) for the login.

    The ODBC driver retries a refused or unresolvable address until the login
    timeout ends and then reports both the same way; a named instance without a
    port is left to the driver (its port comes from the SQL Server Browser).
    """
    deadline = time.monotonic() + settings.connect_timeout
    addresses = _resolve(settings.host, settings.connect_timeout)
    if addresses is None:
        raise unreachable("timeout", settings)
    if not addresses:
        raise unreachable("unknown_host", settings)
    if settings.port is None and settings.instance is not None:
        return _seconds_left(deadline)
    port = settings.port or DEFAULT_PORT
    refused = False
    for family, address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise unreachable("timeout", settings)
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(remaining)
                probe.connect((address, port))
                return _seconds_left(deadline)
        except ConnectionRefusedError:
            refused = True
        except TimeoutError:
            raise unreachable("timeout", settings) from None
        except OSError:
            continue
    raise unreachable("refused" if refused else "timeout", settings)


def _seconds_left(deadline: float) -> int:
    return max(1, math.ceil(deadline - time.monotonic()))


def _resolve(host: str, timeout: float) -> list[tuple[int, str]] | None:
    """(family, address) pairs for ``host``; [] if it does not resolve, None if DNS is too slow."""
    found: list[list[tuple[int, str]]] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            found.append([])
            return
        found.append([(info[0], str(info[4][0])) for info in infos])

    worker = threading.Thread(target=lookup, name="sqlserver-dns", daemon=True)
    worker.start()
    worker.join(timeout)  # getaddrinfo itself has no timeout
    return found[0] if found else None
