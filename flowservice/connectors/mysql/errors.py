"""MySQL / MariaDB and driver failures → the product's exception tree, in one place.

PyMySQL reports the server's error number as ``exc.args[0]``; numbers are
classified from the table below. The Arrow reader (ConnectorX) reports only
text, so its failures get a fixed message. Messages are written here from
names and numbers, never copied from a driver, so no secret can reach them.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowservice.errors import (
    ConnectorError,
    SourceConfigError,
    SourceSystemError,
    TransientSourceError,
)

if TYPE_CHECKING:
    from flowservice.connectors.mysql.connection_string import ConnectionSettings

CONFIG = SourceConfigError
TRANSIENT = TransientSourceError


@dataclass(frozen=True)
class Known:
    """How one server or client error number is classified and explained."""

    kind: type[ConnectorError]
    reason: str  # a stable key for tests and logs
    explanation: str  # may use {user}, {database}, {server}


SERVER_ERRORS: dict[int, Known] = {
    1045: Known(
        CONFIG,
        "login_failed",
        "Access denied for user '{user}' on {server}: wrong user name or password, or the "
        "user may not connect from this host.",
    ),
    # MariaDB answers 1698 for an unknown user (and for a socket-only account over TCP)
    1698: Known(
        CONFIG,
        "login_failed",
        "Access denied for user '{user}' on {server}: no such user for this host, or the "
        "user may not log in with a password.",
    ),
    1049: Known(
        CONFIG, "unknown_database", "The database '{database}' does not exist on {server}."
    ),
    1044: Known(
        CONFIG, "database_denied", "The user '{user}' may not use the database '{database}'."
    ),
    1142: Known(CONFIG, "permission_denied", "The user '{user}' lacks a privilege on a table."),
    1143: Known(CONFIG, "permission_denied", "The user '{user}' lacks a privilege on a column."),
    1146: Known(CONFIG, "invalid_object", "A table the query needs does not exist."),
    1054: Known(CONFIG, "invalid_column", "A column the query needs does not exist."),
    1251: Known(
        CONFIG,
        "auth_plugin",
        "{server} asks for an authentication method this client does not support.",
    ),
    3159: Known(
        CONFIG,
        "tls_required",
        "{server} accepts only TLS connections; set SslMode=Required (or stronger).",
    ),
    1040: Known(TRANSIENT, "too_many_connections", "{server} has too many connections; retry."),
    1226: Known(TRANSIENT, "resource_limit", "The user '{user}' reached a resource limit; retry."),
    1205: Known(TRANSIENT, "lock_timeout", "The query timed out waiting for a lock; retry."),
    1213: Known(TRANSIENT, "deadlock", "The query was chosen as a deadlock victim; retry."),
    1927: Known(TRANSIENT, "lost", "The connection to {server} was killed; retry."),
    2006: Known(TRANSIENT, "lost", "The connection to {server} was lost; retry."),
    2013: Known(TRANSIENT, "lost", "The connection to {server} was lost; retry."),
    2003: Known(
        TRANSIENT, "unreachable", "Cannot connect to {server}; check host, port, firewall."
    ),
}


def _tag(error: ConnectorError, reason: str) -> ConnectorError:
    error.reason = reason  # type: ignore[attr-defined]
    return error


def known_error(number: int, settings: ConnectionSettings) -> ConnectorError:
    """The error for a number listed in ``SERVER_ERRORS``."""
    known = SERVER_ERRORS[number]
    message = known.explanation.format(
        user=settings.user,
        database=settings.database or "(none)",
        server=settings.where,
    )
    return _tag(known.kind(f"{message} (error {number})"), known.reason)


def unreachable(kind: str, settings: ConnectionSettings) -> ConnectorError:
    """A network failure before any server answered."""
    if kind == "unknown_host":
        return _tag(
            SourceConfigError(f"Cannot resolve host name '{settings.host}': check Server."), kind
        )
    if kind == "refused":
        return _tag(
            TransientSourceError(
                f"Nothing accepts connections at {settings.where} (connection refused): check "
                "Server and Port, and that the database server is running."
            ),
            kind,
        )
    return _tag(
        TransientSourceError(
            f"No answer from {settings.where} within {settings.connect_timeout} s: check "
            "Server, Port and the firewall, or raise Connect Timeout."
        ),
        "timeout",
    )


def tls_error(settings: ConnectionSettings, problem: str) -> ConnectorError:
    return _tag(SourceConfigError(f"TLS with {settings.where} failed: {problem}"), "tls")


def _tls_problem(exc: BaseException) -> str | None:
    """What went wrong with TLS, if ``exc`` (or what caused it) is a TLS failure."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            if "hostname" in str(seen.verify_message or "").lower() or "mismatch" in str(
                seen.verify_message or ""
            ):
                return (
                    "the certificate does not name this host; connect with the name it was "
                    "issued for, or use SslMode=VerifyCA."
                )
            return "the server certificate is not trusted; give its CA with SslCA=<file>."
        if isinstance(seen, ssl.SSLError):
            return "the TLS handshake failed; check SslMode and the server's TLS setup."
        seen = seen.__cause__ or seen.__context__
    return None


def _network_problem(exc: BaseException) -> str | None:
    """``unknown_host``, ``refused`` or ``timeout`` when the socket under ``exc`` failed so."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, socket.gaierror):
            return "unknown_host"
        if isinstance(seen, ConnectionRefusedError):
            return "refused"
        if isinstance(seen, TimeoutError):
            return "timeout"
        seen = seen.__cause__ or seen.__context__
    return None


def classify(exc: BaseException, settings: ConnectionSettings) -> ConnectorError:
    """The ``ConnectorError`` for a PyMySQL (or socket) exception; use with ``raise ... from``."""
    tls = _tls_problem(exc)
    if tls is not None:
        return tls_error(settings, tls)
    network = _network_problem(exc)
    if network is not None:
        return unreachable(network, settings)
    number = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if number is not None and number in SERVER_ERRORS:
        return known_error(number, settings)
    shown = f" (error {number})" if number is not None else ""
    return _tag(
        SourceSystemError(f"The database failed unexpectedly: {type(exc).__name__}{shown}."),
        "unexpected",
    )


class ZeroDateRead(TransientSourceError):
    """The Arrow reader stopped at a zero date ('0000-00-00', or a zero month or day), which
    it cannot convert. Raised only by reads whose dates go out unguarded; the connector then
    reads the rest with the guard, so it never reaches a caller."""

    reason = "zero_date"


def zero_date_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is ConnectorX's panic on a date value it cannot convert."""
    return type(exc).__name__ == "PanicException" and "convert the value `Date(" in str(exc)


def reader_failed(settings: ConnectionSettings) -> ConnectorError:
    """A failure of the Arrow reader, whose text may quote data: a fixed message instead."""
    return _tag(
        TransientSourceError(
            f"Reading from {settings.where} failed in the Arrow reader; the connection test "
            "and a retry tell whether the settings or the server are at fault."
        ),
        "reader",
    )
