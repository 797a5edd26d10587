"""Parse the connection strings Adobe documents for PostgreSQL into typed settings.

Adobe's form is ``Server=H;Database=D;Port=P;UID=U;Password=W`` plus, for TLS,
``EncryptionMethod`` (0 none, 1 SSL, 6 SSL when the server offers it) and
``ValidateServerCertificate`` (0/1). Keywords are case-insensitive and may come
in any order; inner runs of spaces count as one; common aliases (``Host``,
``User ID``, ``PWD``, ``Initial Catalog``...) are accepted. A value may be
quoted with ``'`` or ``"`` (doubled inside to stand for itself) or braced with
``{}`` (``}}`` stands for ``}``), so it may hold ``;``. Later pairs override
earlier ones. Messages never contain the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flowservice.connectors.keyword_strings import MASK as MASK
from flowservice.connectors.keyword_strings import Grammar, excerpt
from flowservice.errors import InvalidRequest

SslMode = Literal["disable", "prefer", "require", "verify-full"]

DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 15
MAX_CONNECT_TIMEOUT = 600

# Canonical setting for every keyword (lower case, single spaces).
KEYWORDS: dict[str, str] = {
    "server": "server",
    "host": "server",
    "hostname": "server",
    "data source": "server",
    "address": "server",
    "database": "database",
    "databasename": "database",
    "dbname": "database",
    "initial catalog": "database",
    "port": "port",
    "portnumber": "port",
    "uid": "user",
    "user": "user",
    "user id": "user",
    "userid": "user",
    "username": "user",
    "user name": "user",
    "password": "password",
    "pwd": "password",
    "encryptionmethod": "encryption_method",
    "encryption method": "encryption_method",
    "validateservercertificate": "validate_server_certificate",
    "validate server certificate": "validate_server_certificate",
    "truststore": "trust_store",
    "sslrootcert": "trust_store",
    "connect timeout": "connect_timeout",
    "connection timeout": "connect_timeout",
    "connect_timeout": "connect_timeout",
    "logintimeout": "connect_timeout",
    "login timeout": "connect_timeout",
    "timeout": "connect_timeout",
    "application name": "application_name",
    "applicationname": "application_name",
}

# Client-side settings of other drivers that change nothing for one connection: accepted.
IGNORED_KEYWORDS = frozenset(
    {"driver", "pooling", "minimum pool size", "maximum pool size", "persist security info"}
)

_ENCRYPTION: dict[str, SslMode | None] = {"0": "disable", "1": None, "6": "prefer"}
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


GRAMMAR = Grammar(KEYWORDS, IGNORED_KEYWORDS, "Password", "docs/sources/postgresql.md")


@dataclass(frozen=True)
class ConnectionSettings:
    """What a connection string asks for, with every default filled in."""

    host: str
    database: str
    user: str
    password: str = field(default="", repr=False)
    port: int = DEFAULT_PORT
    sslmode: SslMode = "disable"
    trust_store: str | None = None
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    application_name: str = "flowservice"

    @property
    def where(self) -> str:
        """``host:port`` for messages (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_connection_string(text: str) -> ConnectionSettings:
    """Parse and validate a PostgreSQL connection string of Adobe's form."""
    return _settings_from(GRAMMAR.values(text))


def _settings_from(values: dict[str, str]) -> ConnectionSettings:
    host, port_in_server = parse_server(values.get("server", ""))
    database = values.get("database", "").strip()
    if not database:
        raise InvalidRequest("Connection string: Database is required.")
    user = values.get("user", "")
    if not user.strip():
        raise InvalidRequest("Connection string: UID (the user name) is required.")
    port = _port(values["port"]) if "port" in values else port_in_server or DEFAULT_PORT
    trust_store = values.get("trust_store", "").strip() or None
    return ConnectionSettings(
        host=host,
        port=port,
        database=database,
        user=user,
        password=values.get("password", ""),
        sslmode=_sslmode(
            values.get("encryption_method"), values.get("validate_server_certificate")
        ),
        trust_store=trust_store,
        connect_timeout=_connect_timeout(values.get("connect_timeout")),
        application_name=(values.get("application_name") or "").strip() or "flowservice",
    )


def parse_server(server: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``host,port`` or ``[v6]:port`` → (host, port or None)."""
    text = server.strip()
    if not text:
        raise InvalidRequest("Connection string: Server (the host name) is required.")
    port_text: str | None = None
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise InvalidRequest("Connection string: Server has an unclosed '[' (IPv6 address).")
        rest = text[close + 1 :].strip()
        if rest:
            if rest[0] not in ":,":
                raise InvalidRequest("Connection string: Server has no valid host name.")
            port_text = rest[1:]
        text = text[1:close]
    elif "," in text:
        text, port_text = (part.strip() for part in text.rsplit(",", 1))
    elif text.count(":") == 1:
        text, port_text = (part.strip() for part in text.split(":", 1))
    if not text or any(ch.isspace() or ch in "/'\"\\" for ch in text):
        raise InvalidRequest("Connection string: Server has no valid host name.")
    return text, None if port_text is None else _port(port_text)


def _port(raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InvalidRequest(
            f"Connection string: Port must be a number from 1 to 65535, not '{excerpt(raw)}'."
        )
    return int(value)


def _sslmode(method: str | None, validate: str | None) -> SslMode:
    """EncryptionMethod and ValidateServerCertificate → libpq's ``sslmode``."""
    chosen = (method or "0").strip()
    if chosen not in _ENCRYPTION:
        raise InvalidRequest(
            f"Connection string: EncryptionMethod must be 0 (no encryption), 1 (SSL) or "
            f"6 (SSL when the server offers it), not '{excerpt(method or '')}'."
        )
    # like the DataDirect drivers Adobe's keywords come from, certificates are checked by default
    checks = _flag(validate, "ValidateServerCertificate", default=True)
    mode = _ENCRYPTION[chosen]
    if mode is not None:
        return mode
    return "verify-full" if checks else "require"


def _flag(raw: str | None, name: str, *, default: bool) -> bool:
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidRequest(f"Connection string: {name} must be 0 or 1, not '{excerpt(raw)}'.")


def _connect_timeout(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_CONNECT_TIMEOUT:
        raise InvalidRequest(
            f"Connection string: Connect Timeout must be a whole number of seconds from 1 "
            f"to {MAX_CONNECT_TIMEOUT}, not '{excerpt(raw)}'."
        )
    return int(value)


def mask_password(text: str) -> str:
    """The connection string as written, with every password value replaced by ``****``."""
    return GRAMMAR.mask(text)
