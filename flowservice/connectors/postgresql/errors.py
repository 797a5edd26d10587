"""PostgreSQL and driver failures → the product's exception tree, in one place.

The server's SQLSTATE decides when there is one; failures before any server
answered (DNS, TCP, TLS) are recognised from libpq's fixed English texts.
Messages are written here from names and codes, never copied from the driver,
so no secret (nor anything else the server echoed) can reach them::

    SourceConfigError ── PostgresConfigError       fix the connection string or grants
    TransientSourceError ── PostgresTransientError  retry
    SourceSystemError ── PostgresSystemError        neither helps

Each carries ``reason``, a stable key for tests, logs and ``check()`` details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowservice.errors import (
    ConnectorError,
    SourceConfigError,
    SourceSystemError,
    TransientSourceError,
)

if TYPE_CHECKING:
    from flowservice.connectors.postgresql.connection_string import ConnectionSettings


class PostgresConfigError(SourceConfigError):
    """The settings or grants are wrong; ``reason`` says which."""

    def __init__(self, message: str, *, reason: str = "config") -> None:
        super().__init__(message)
        self.reason = reason


class PostgresTransientError(TransientSourceError):
    """Retrying may help; ``reason`` says why it failed."""

    def __init__(self, message: str, *, reason: str = "transient") -> None:
        super().__init__(message)
        self.reason = reason


class PostgresSystemError(SourceSystemError):
    """The server or driver failed unexpectedly."""

    def __init__(self, message: str, *, reason: str = "unexpected") -> None:
        super().__init__(message)
        self.reason = reason


Kind = type[PostgresConfigError] | type[PostgresTransientError] | type[PostgresSystemError]
CONFIG = PostgresConfigError
TRANSIENT = PostgresTransientError
SYSTEM = PostgresSystemError


@dataclass(frozen=True)
class Known:
    """How one SQLSTATE is classified and explained."""

    kind: Kind
    reason: str
    explanation: str  # may use {user}, {database}, {server}


SQLSTATES: dict[str, Known] = {
    "28P01": Known(
        CONFIG,
        "login_failed",
        "Password authentication failed for user '{user}' on {server}: wrong user name "
        "or password.",
    ),
    "28000": Known(
        CONFIG,
        "login_failed",
        "The server {server} does not let user '{user}' connect to database '{database}' "
        "(unknown role, or no pg_hba.conf rule allows it).",
    ),
    "3D000": Known(
        CONFIG,
        "unknown_database",
        "The database '{database}' does not exist on {server}.",
    ),
    "42501": Known(
        CONFIG,
        "permission_denied",
        "User '{user}' lacks a privilege the query needs (SELECT on the table, or USAGE "
        "on its schema).",
    ),
    "42P01": Known(CONFIG, "invalid_object", "A table the query needs does not exist."),
    "42703": Known(CONFIG, "invalid_column", "A column the query needs does not exist."),
    "53300": Known(TRANSIENT, "server_busy", "{server} has no connection slot left; retry."),
    "57P03": Known(
        TRANSIENT, "server_starting", "{server} is starting up or shutting down; retry."
    ),
    "57P01": Known(TRANSIENT, "lost", "{server} ended the connection (shutdown); retry."),
    "57P02": Known(TRANSIENT, "lost", "{server} ended the connection (crash); retry."),
    "57014": Known(
        TRANSIENT, "timeout", "The query was cancelled or timed out on {server}; retry."
    ),
    "40001": Known(TRANSIENT, "serialization", "The query hit a serialization failure; retry."),
    "40P01": Known(TRANSIENT, "deadlock", "The query was chosen as a deadlock victim; retry."),
    "55P03": Known(TRANSIENT, "lock_timeout", "The query could not get a lock in time; retry."),
}

# By SQLSTATE class when the exact code is not listed.
_CLASSES: dict[str, Known] = {
    "08": Known(TRANSIENT, "lost", "The connection to {server} failed or was lost; retry."),
    "53": Known(TRANSIENT, "server_resources", "{server} ran short of resources; retry."),
    "57": Known(TRANSIENT, "server_unavailable", "{server} is not available right now; retry."),
    "40": Known(TRANSIENT, "rolled_back", "The transaction was rolled back by {server}; retry."),
    "28": Known(CONFIG, "login_failed", "{server} rejected the login of user '{user}'."),
    "22": Known(SYSTEM, "data_error", "{server} could not produce a value (SQLSTATE {code})."),
}

_TLS_REQUIRED = re.compile(r"no pg_hba\.conf entry.*no encryption", re.I | re.S)

# A failed connection attempt carries no SQLSTATE through libpq, only the server's FATAL
# text: these (English, lc_messages=C or en) texts stand for the SQLSTATEs above.
_SERVER_TEXTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"password authentication failed", re.I), "28P01"),
    (re.compile(r"database \".*\" does not exist", re.I), "3D000"),
    (
        re.compile(r"role \".*\" does not exist|no pg_hba\.conf entry|authentication failed", re.I),
        "28000",
    ),
    (re.compile(r"too many clients|remaining connection slots", re.I), "53300"),
    (re.compile(r"database system is (starting up|shutting down|in recovery mode)", re.I), "57P03"),
    (re.compile(r"permission denied", re.I), "42501"),
]
_TEXTS: list[tuple[re.Pattern[str], Known]] = [
    (
        re.compile(r"could not translate host name|Name or service not known", re.I),
        Known(CONFIG, "unknown_host", "Cannot resolve the host name of {server}: check Server."),
    ),
    (
        re.compile(r"server does not support SSL", re.I),
        Known(
            CONFIG,
            "tls_unavailable",
            "{server} does not offer TLS but EncryptionMethod=1 requires it; enable SSL on "
            "the server, or use EncryptionMethod=0 if a plain connection is acceptable.",
        ),
    ),
    (
        re.compile(
            r"certificate verify failed|root certificate file|server certificate for|"
            r"does not match host name|certificate",
            re.I,
        ),
        Known(
            CONFIG,
            "tls_certificate",
            "The certificate of {server} could not be verified: give the CA file as TrustStore, "
            "or set ValidateServerCertificate=0.",
        ),
    ),
    (
        re.compile(r"SSL error|SSL SYSCALL|tlsv1 alert|sslv3 alert|SSL connection", re.I),
        Known(CONFIG, "tls", "The TLS handshake with {server} failed; check EncryptionMethod."),
    ),
    (
        re.compile(r"Connection refused", re.I),
        Known(
            TRANSIENT,
            "refused",
            "Nothing accepts connections at {server} (connection refused): check Server and "
            "Port, and that PostgreSQL is running and listens on TCP.",
        ),
    ),
    (
        re.compile(r"timeout expired|timed out", re.I),
        Known(
            TRANSIENT,
            "timeout",
            "No answer from {server} in time: check Server, Port and firewalls, or raise "
            "Connect Timeout.",
        ),
    ),
    (
        re.compile(r"No route to host|Network is unreachable|Host is unreachable", re.I),
        Known(TRANSIENT, "unreachable", "{server} cannot be reached from here; retry."),
    ),
    (
        re.compile(
            r"server closed the connection|terminating connection|could not receive data|"
            r"could not send data|connection to server .* lost|consuming input failed|"
            r"the connection is closed|connection reset",
            re.I | re.S,
        ),
        Known(TRANSIENT, "lost", "The connection to {server} was lost; retry."),
    ),
]


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE a psycopg or ADBC exception carries, if any."""
    for holder in (exc, getattr(exc, "diag", None)):
        code = getattr(holder, "sqlstate", None)
        if isinstance(code, str) and len(code) == 5 and code != "00000":
            return code
    return None


def classify(exc: BaseException, settings: ConnectionSettings | None = None) -> ConnectorError:
    """The ``ConnectorError`` for a driver exception (use with ``raise ... from exc``)."""
    code = sqlstate_of(exc)
    text = str(exc)
    if code is None:
        code = next((state for pattern, state in _SERVER_TEXTS if pattern.search(text)), None)
    if code == "28000" and _TLS_REQUIRED.search(text):
        return describe(_TLS_REQUIRED_KNOWN, settings)
    if code is not None:
        known = SQLSTATES.get(code) or _CLASSES.get(code[:2])
        if known is not None:
            return describe(known, settings, code=code)
    for pattern, found in _TEXTS:
        if pattern.search(text):
            return describe(found, settings)
    if code is not None:
        return PostgresSystemError(
            f"PostgreSQL failed unexpectedly (SQLSTATE {code}).", reason="unexpected"
        )
    return PostgresSystemError(
        f"PostgreSQL failed unexpectedly: {type(exc).__name__}.", reason="unexpected"
    )


_TLS_REQUIRED_KNOWN = Known(
    CONFIG,
    "tls_required",
    "{server} accepts only encrypted connections: set EncryptionMethod=1.",
)


def describe(
    known: Known, settings: ConnectionSettings | None, *, code: str = ""
) -> ConnectorError:
    """The error ``known`` stands for, its message filled from the settings' names."""
    message = known.explanation.format(
        user=_short(settings.user) if settings else "?",
        database=_short(settings.database) if settings else "?",
        server=settings.where if settings else "the server",
        code=code,
    )
    if code and "SQLSTATE" not in message:
        message = f"{message} (SQLSTATE {code})"
    return known.kind(message, reason=known.reason)


def _short(name: str) -> str:
    return name if len(name) <= 64 else name[:61] + "..."
