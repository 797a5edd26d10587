"""Parse the connection strings Adobe documents for MySQL and MariaDB into typed settings.

Adobe's form is ``Server=host;Port=3306;Database=db;UID=user;PWD=secret``.
Keywords are case-insensitive and may come in any order; the usual aliases of
MySQL Connector/NET and ODBC (``Host``, ``User Id``, ``Password``,
``SslMode``, ...) are accepted too. A value may be quoted with ``'`` or ``"``
(a doubled quote inside stands for one) or braced with ``{}`` (``}}`` for
``}``), and then may contain ``;``. Later pairs override earlier ones.
Messages never contain the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from flowservice.connectors.keyword_strings import MASK as MASK
from flowservice.connectors.keyword_strings import Grammar, excerpt
from flowservice.errors import InvalidRequest

SslMode = Literal["disabled", "preferred", "required", "verify_ca", "verify_identity"]

DEFAULT_PORT = 3306
DEFAULT_CONNECT_TIMEOUT = 15
MAX_CONNECT_TIMEOUT = 600

KEYWORDS: dict[str, str] = {
    "server": "server",
    "host": "server",
    "data source": "server",
    "datasource": "server",
    "address": "server",
    "addr": "server",
    "network address": "server",
    "port": "port",
    "database": "database",
    "initial catalog": "database",
    "db": "database",
    "uid": "user",
    "user": "user",
    "user id": "user",
    "userid": "user",
    "username": "user",
    "user name": "user",
    "pwd": "password",
    "password": "password",
    "sslmode": "ssl_mode",
    "ssl mode": "ssl_mode",
    "ssl-mode": "ssl_mode",
    "ssl_mode": "ssl_mode",
    "sslca": "ssl_ca",
    "ssl ca": "ssl_ca",
    "ssl-ca": "ssl_ca",
    "ssl_ca": "ssl_ca",
    "connect timeout": "connect_timeout",
    "connection timeout": "connect_timeout",
    "connecttimeout": "connect_timeout",
    "connectiontimeout": "connect_timeout",
}

# Client-side settings of other drivers that change nothing here: accepted, so copied strings work.
IGNORED_KEYWORDS = frozenset(
    {
        "driver",
        "option",
        "charset",
        "character set",
        "pooling",
        "min pool size",
        "minimumpoolsize",
        "max pool size",
        "maximumpoolsize",
        "connection lifetime",
        "allowpublickeyretrieval",
        "usesystemtruststore",
        "allowzerodatetime",
        "convertzerodatetime",
        "treattinyasboolean",
        "default command timeout",
        "defaultcommandtimeout",
        "persist security info",
        "persistsecurityinfo",
        "application name",
    }
)

# Numeric values as Azure Data Factory writes them, and the names of MySQL's clients.
_SSL_MODES: dict[str, SslMode] = {
    "0": "disabled",
    "none": "disabled",
    "disabled": "disabled",
    "1": "preferred",
    "preferred": "preferred",
    "2": "required",
    "required": "required",
    "3": "verify_ca",
    "verifyca": "verify_ca",
    "4": "verify_identity",
    "verifyidentity": "verify_identity",
    "verifyfull": "verify_identity",
}
_SEPARATORS = re.compile(r"[\s_-]+")


GRAMMAR = Grammar(KEYWORDS, IGNORED_KEYWORDS, "PWD", "docs/sources/mysql-mariadb.md")


@dataclass(frozen=True)
class ConnectionSettings:
    """What a connection string asks for, with every default filled in."""

    host: str
    user: str
    password: str = field(default="", repr=False)
    port: int = DEFAULT_PORT
    database: str | None = None
    ssl_mode: SslMode = "preferred"
    ssl_ca: str | None = None
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_connection_string(text: str) -> ConnectionSettings:
    """Parse and validate a MySQL / MariaDB connection string."""
    return _settings_from(GRAMMAR.values(text))


def _settings_from(values: dict[str, str]) -> ConnectionSettings:
    host = values.get("server", "").strip()
    port_text = values.get("port")
    if host.startswith("[") and "]" in host:  # [v6 literal] or [v6 literal]:port
        literal, _, rest = host[1:].partition("]")
        if rest.startswith(":") and port_text is None:
            port_text = rest[1:]
        host = literal
    elif host.count(":") == 1:  # host:port
        host, port_text_in_host = host.split(":")
        port_text = port_text if port_text is not None else port_text_in_host
    if not host or any(ch.isspace() for ch in host):
        raise InvalidRequest("Connection string: Server (the host name) is required.")
    user = values.get("user", "")
    if not user.strip():
        raise InvalidRequest("Connection string: UID (the user name) is required.")
    ssl_ca = (values.get("ssl_ca") or "").strip() or None
    return ConnectionSettings(
        host=host,
        port=_port(port_text),
        database=(values.get("database") or "").strip() or None,
        user=user,
        password=values.get("password", ""),
        ssl_mode=_ssl_mode(values.get("ssl_mode")),
        ssl_ca=ssl_ca,
        connect_timeout=_connect_timeout(values.get("connect_timeout")),
    )


def _port(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_PORT
    value = raw.strip()
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InvalidRequest(
            f"Connection string: Port must be a number from 1 to 65535, not '{excerpt(raw)}'."
        )
    return int(value)


def _ssl_mode(raw: str | None) -> SslMode:
    if raw is None or not raw.strip():
        return "preferred"
    found = _SSL_MODES.get(_SEPARATORS.sub("", raw.strip().lower()))
    if found is None:
        raise InvalidRequest(
            "Connection string: SslMode must be Disabled, Preferred, Required, VerifyCA or "
            f"VerifyIdentity (or 0-4), not '{excerpt(raw)}'."
        )
    return found


def _connect_timeout(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_CONNECT_TIMEOUT:
        raise InvalidRequest(
            "Connection string: Connect Timeout must be a whole number of seconds from 1 "
            f"to {MAX_CONNECT_TIMEOUT}, not '{excerpt(raw)}'."
        )
    return int(value)


def mask_password(text: str) -> str:
    """The connection string as written, with every password value replaced by ``****``."""
    return GRAMMAR.mask(text)
