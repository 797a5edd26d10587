"""SQL Server and driver failures → the product's exception tree, in one place.

mssql-python reports only the SQLSTATE and the message text, so the SQL Server
error number is recovered from the (stable, English) message of each error
we classify; TCP failures are recognised by the socket error code the ODBC
driver prints. Messages are written here from names and numbers, never copied
from the driver, so no secret can reach them.
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
    from flowservice.connectors.sqlserver.connection_string import ConnectionSettings

CONFIG = SourceConfigError
TRANSIENT = TransientSourceError
SYSTEM = SourceSystemError


@dataclass(frozen=True)
class Known:
    """How one SQL Server error number is classified and explained."""

    kind: type[ConnectorError]
    reason: str  # a stable key for tests and logs
    explanation: str  # may use {user}, {database}, {server}


# SQL Server error numbers, by what the caller should do about them.
SQL_SERVER_ERRORS: dict[int, Known] = {
    18456: Known(
        CONFIG,
        "login_failed",
        "Login failed for user '{user}': wrong user name or "
        "password, or the login is not allowed on {server}.",
    ),
    18452: Known(
        CONFIG,
        "login_untrusted",
        "The login comes from an untrusted domain; use SQL Server authentication.",
    ),
    18470: Known(CONFIG, "login_disabled", "The login '{user}' is disabled on {server}."),
    18486: Known(CONFIG, "login_locked", "The login '{user}' is locked out on {server}."),
    18487: Known(CONFIG, "password_expired", "The password of login '{user}' has expired."),
    18488: Known(CONFIG, "password_must_change", "The password of login '{user}' must be changed."),
    4060: Known(
        CONFIG,
        "unknown_database",
        "Cannot open database '{database}' on {server}: it "
        "does not exist or the login '{user}' may not use it.",
    ),
    229: Known(
        CONFIG,
        "permission_denied",
        "The login '{user}' lacks permission for this object (SQL Server error 229).",
    ),
    230: Known(
        CONFIG,
        "permission_denied",
        "The login '{user}' lacks permission on a column (SQL Server error 230).",
    ),
    208: Known(
        CONFIG, "invalid_object", "An object the query needs does not exist (SQL Server error 208)."
    ),
    207: Known(
        CONFIG, "invalid_column", "A column the query needs does not exist (SQL Server error 207)."
    ),
    22105: Known(
        CONFIG,
        "change_tracking_off",
        "Change tracking is not enabled on a table whose changes the query reads.",
    ),
    22107: Known(
        CONFIG,
        "change_tracking_not_a_table",
        "Changes can be read only from user tables, not views.",
    ),
    1205: Known(TRANSIENT, "deadlock", "The query was chosen as a deadlock victim; retry."),
    1222: Known(TRANSIENT, "lock_timeout", "The query timed out waiting for a lock; retry."),
    701: Known(TRANSIENT, "server_memory", "SQL Server ran out of memory for the query; retry."),
    40613: Known(
        TRANSIENT,
        "database_unavailable",
        "The database on {server} is not available right now; retry.",
    ),
    40501: Known(TRANSIENT, "server_busy", "{server} is busy; retry."),
    40197: Known(TRANSIENT, "server_busy", "{server} had an error processing the request; retry."),
    10928: Known(TRANSIENT, "resource_limit", "{server} reached a resource limit; retry."),
    10929: Known(TRANSIENT, "resource_limit", "{server} reached a resource limit; retry."),
}

# Message prefixes SQL Server uses for the numbers above.
_MESSAGE_NUMBERS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"Login failed for user", re.I), 18456),
    (re.compile(r"untrusted domain", re.I), 18452),
    (re.compile(r"account is disabled", re.I), 18470),
    (re.compile(r"account is currently locked", re.I), 18486),
    (re.compile(r"password of the account has expired", re.I), 18487),
    (re.compile(r"password of the account must be changed", re.I), 18488),
    (re.compile(r"Cannot open database", re.I), 4060),
    (re.compile(r"permission was denied on the column", re.I), 230),
    (re.compile(r"permission was denied", re.I), 229),
    (re.compile(r"Invalid object name", re.I), 208),
    (re.compile(r"Invalid column name", re.I), 207),
    (re.compile(r"Change tracking is not enabled on table", re.I), 22105),
    (re.compile(r"not supported by the CHANGETABLE function", re.I), 22107),
    (re.compile(r"was deadlocked", re.I), 1205),
    (re.compile(r"Lock request time out", re.I), 1222),
    (re.compile(r"insufficient system memory", re.I), 701),
    (re.compile(r"Database '.*' on server '.*' is not currently available", re.I), 40613),
    (re.compile(r"service is currently busy", re.I), 40501),
    (re.compile(r"error processing your request", re.I), 40197),
]
_NUMBER_IN_TEXT = re.compile(r"\((\d{2,6})\)")  # "[42000] (4060)" style diagnostics
_TCP_CODE = re.compile(r"TCP Provider: Error code (0x[0-9A-Fa-f]+)")

# Winsock codes the ODBC driver prints for TCP failures.
_HOST_NOT_FOUND = {0x2AF9, 0x2AFA, 0x2AFB, 0x2AFC}
_REFUSED = {0x274D, 0x2749, 0x2751, 0x2742}
_TIMED_OUT = {0x274C}
_RESET = {0x2746, 0x2745}


def sql_server_error_number(text: str) -> int | None:
    """The SQL Server error number a driver message stands for, if we know it."""
    for pattern, number in _MESSAGE_NUMBERS:
        if pattern.search(text):
            return number
    found = _NUMBER_IN_TEXT.search(text)
    return int(found.group(1)) if found and int(found.group(1)) in SQL_SERVER_ERRORS else None


def where(settings: ConnectionSettings) -> str:
    """``host:port`` or ``host\\instance`` for messages."""
    if settings.port is not None:
        return f"{settings.host}:{settings.port}"
    if settings.instance is not None:
        return f"{settings.host}\\{settings.instance}"
    return f"{settings.host}:1433"


def unreachable(kind: str, settings: ConnectionSettings) -> ConnectorError:
    """A network failure before any SQL Server answered."""
    server = where(settings)
    if kind == "unknown_host":
        return _tag(
            SourceConfigError(
                f"Cannot resolve host name '{settings.host}': check the Data Source."
            ),
            kind,
        )
    if kind == "refused":
        return _tag(
            TransientSourceError(
                f"Nothing accepts connections at {server} (connection refused): check the "
                "host and port, and that SQL Server is running and listens on TCP."
            ),
            kind,
        )
    if kind == "timeout":
        return _tag(
            TransientSourceError(
                f"No answer from {server} within {settings.connect_timeout} s: check the host, "
                "port and firewall, or raise Connect Timeout."
            ),
            kind,
        )
    return _tag(TransientSourceError(f"The connection to {server} was lost; retry."), kind)


def classify(exc: BaseException, settings: ConnectionSettings | None = None) -> ConnectorError:
    """The ``ConnectorError`` for a driver exception (use with ``raise ... from exc``)."""
    text = _driver_text(exc)
    server = where(settings) if settings else "the server"
    tcp = _TCP_CODE.search(text)
    if tcp and settings is not None:
        code = int(tcp.group(1), 16)
        if code in _HOST_NOT_FOUND:
            return unreachable("unknown_host", settings)
        if code in _REFUSED:
            return unreachable("refused", settings)
        if code in _TIMED_OUT:
            return unreachable("timeout", settings)
        if code in _RESET and settings.encrypt == "strict":
            return _tag(
                SourceConfigError(
                    f"TLS with {server} failed: Encrypt=strict needs a server that speaks "
                    "TDS 8.0 (SQL Server 2022 or later); use Encrypt=true otherwise."
                ),
                "tls",
            )
        return unreachable("lost", settings)
    if settings is not None and re.search(r"TCP Provider: Timeout error", text):
        return unreachable("timeout", settings)
    tls = _tls_problem(text)
    if tls is not None:
        return _tag(SourceConfigError(f"TLS with {server} failed: {tls}"), "tls")
    number = sql_server_error_number(text)
    if number is not None:
        return known_error(number, settings)
    if re.search(r"Login timeout expired|Query timeout expired|HYT00", text):
        return _tag(TransientSourceError(f"{server} did not answer in time; retry."), "timeout")
    if re.search(r"Communication link failure|connection is broken|08S01", text):
        return _tag(TransientSourceError(f"The connection to {server} was lost; retry."), "lost")
    return _tag(
        SourceSystemError(f"SQL Server failed unexpectedly: {_category(exc)}."), "unexpected"
    )


def known_error(number: int, settings: ConnectionSettings | None) -> ConnectorError:
    """The error for a SQL Server error number listed in ``SQL_SERVER_ERRORS``."""
    known = SQL_SERVER_ERRORS[number]
    message = known.explanation.format(
        user=settings.user if settings else "?",
        database=(settings.database or "(default)") if settings else "?",
        server=where(settings) if settings else "the server",
    )
    return _tag(known.kind(f"{message} (SQL Server error {number})"), known.reason)


def _tls_problem(text: str) -> str | None:
    lowered = text.lower()
    if "encryption not supported" in lowered or "does not support encryption" in lowered:
        return (
            "the server does not support encryption; set Encrypt=false if a plain "
            "connection is acceptable."
        )
    if "certificate" in lowered and ("not trusted" in lowered or "verify" in lowered):
        return (
            "the server certificate is not trusted; install its CA or set "
            "TrustServerCertificate=true."
        )
    if "ssl provider" in lowered or "ssl routines" in lowered or "tls" in lowered:
        return "the TLS handshake failed; check Encrypt and TrustServerCertificate."
    return None


def _driver_text(exc: BaseException) -> str:
    parts = [getattr(exc, "driver_error", ""), getattr(exc, "ddbc_error", ""), str(exc)]
    return " ".join(p for p in parts if isinstance(p, str))


def _category(exc: BaseException) -> str:
    """The driver's fixed description of the SQLSTATE (never server or user text)."""
    described = getattr(exc, "driver_error", None)
    if isinstance(described, str) and described and len(described) <= 120:
        return described.rstrip(".")
    return type(exc).__name__


def _tag(error: ConnectorError, reason: str) -> ConnectorError:
    error.reason = reason  # type: ignore[attr-defined]
    return error
