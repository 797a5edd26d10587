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

import re
from dataclasses import dataclass, field
from typing import Literal

from flowservice.errors import InvalidRequest

SslMode = Literal["disable", "prefer", "require", "verify-full"]

DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 15
MAX_CONNECT_TIMEOUT = 600
MASK = "****"

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
_SPACES = re.compile(r"\s+")


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


@dataclass(frozen=True)
class Pair:
    """One ``keyword=value`` pair and where its value sits in the original string."""

    keyword: str  # normalised: lower case, single spaces
    written: str  # as the user wrote it, for messages
    value: str
    value_start: int
    value_end: int


def split_pairs(text: str) -> list[Pair]:
    """Tokenise a connection string; ``InvalidRequest`` on a syntax error (never quoting it)."""
    pairs: list[Pair] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in "; \t\r\n":
            pos += 1
            continue
        eq = text.find("=", pos)
        semi = text.find(";", pos)
        if eq < 0 or 0 <= semi < eq:
            # not shown: the stray text may be the tail of a password cut at a ';'
            raise InvalidRequest(
                f"Connection string: part {len(pairs) + 1} has no '=' (expected "
                "'keyword=value'); quote values that contain ';'."
            )
        written = text[pos:eq].strip()
        keyword = _SPACES.sub(" ", written).lower()
        if not keyword:
            raise InvalidRequest("Connection string: a value is missing its keyword before '='.")
        value, start, stop, pos = _read_value(text, eq + 1, written)
        pairs.append(Pair(keyword, written, value, start, stop))
    return pairs


def _read_value(text: str, pos: int, keyword: str) -> tuple[str, int, int, int]:
    """(value, start, end, position after its ``;``) of the value starting at ``pos``."""
    end = len(text)
    while pos < end and text[pos] in " \t":
        pos += 1
    if pos < end and text[pos] in "'\"{":
        opening = text[pos]
        closing = "}" if opening == "{" else opening
        start = pos
        pos += 1
        chars: list[str] = []
        while True:
            if pos >= end:
                raise InvalidRequest(
                    f"Connection string: the value of '{_safe(keyword)}' opens with {opening} "
                    "but is never closed."
                )
            if text[pos] == closing:
                if text[pos + 1 : pos + 2] == closing:
                    chars.append(closing)
                    pos += 2
                    continue
                pos += 1
                break
            chars.append(text[pos])
            pos += 1
        stop = pos
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos < end and text[pos] != ";":
            raise InvalidRequest(
                f"Connection string: unexpected characters after the quoted value of "
                f"'{_safe(keyword)}'."
            )
        return "".join(chars), start, stop, pos + 1
    semi = text.find(";", pos)
    stop = end if semi < 0 else semi
    value = text[pos:stop].rstrip()
    return value, pos, pos + len(value), stop + 1


def _safe(fragment: str) -> str:
    """A short excerpt for a message; anything long may be part of a secret."""
    fragment = fragment.strip()
    return fragment if len(fragment) <= 30 else fragment[:27] + "..."


def parse_connection_string(text: str) -> ConnectionSettings:
    """Parse and validate a PostgreSQL connection string of Adobe's form."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("Connection string is empty.")
    if "\x00" in text:
        raise InvalidRequest("Connection string must not contain a NUL character.")
    values: dict[str, str] = {}
    previous: str | None = None
    for pair in split_pairs(text):
        if pair.keyword in IGNORED_KEYWORDS:
            previous = None
            continue
        setting = KEYWORDS.get(pair.keyword)
        if setting is None and previous == "password":
            # most likely the rest of a password holding ';': never echo it
            raise InvalidRequest(
                "Connection string: unknown keyword right after the Password value; "
                "if the password contains ';', quote it: Password='...'."
            )
        if setting is None:
            raise InvalidRequest(
                f"Connection string: unknown keyword '{_safe(pair.written)}'. "
                "See docs/sources/postgresql.md for the keywords supported."
            )
        values[setting] = pair.value
        previous = setting
    return _settings_from(values)


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
            f"Connection string: Port must be a number from 1 to 65535, not '{_safe(raw)}'."
        )
    return int(value)


def _sslmode(method: str | None, validate: str | None) -> SslMode:
    """EncryptionMethod and ValidateServerCertificate → libpq's ``sslmode``."""
    chosen = (method or "0").strip()
    if chosen not in _ENCRYPTION:
        raise InvalidRequest(
            f"Connection string: EncryptionMethod must be 0 (no encryption), 1 (SSL) or "
            f"6 (SSL when the server offers it), not '{_safe(method or '')}'."
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
    raise InvalidRequest(f"Connection string: {name} must be 0 or 1, not '{_safe(raw)}'.")


def _connect_timeout(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_CONNECT_TIMEOUT:
        raise InvalidRequest(
            f"Connection string: Connect Timeout must be a whole number of seconds from 1 "
            f"to {MAX_CONNECT_TIMEOUT}, not '{_safe(raw)}'."
        )
    return int(value)


def mask_password(text: str) -> str:
    """The connection string as written, with every password value replaced by ``****``."""
    try:
        pairs = split_pairs(text)
    except InvalidRequest:
        return MASK  # unparseable: any part of it may be the secret
    pieces: list[str] = []
    last = 0
    previous: str | None = None
    for pair in pairs:
        setting = KEYWORDS.get(pair.keyword)
        if setting is None and previous == "password" and pair.keyword not in IGNORED_KEYWORDS:
            return MASK  # the rest of an unquoted password holding ';'
        previous = setting
        if setting == "password":
            pieces.append(text[last : pair.value_start])
            pieces.append(MASK)
            last = pair.value_end
    pieces.append(text[last:])
    return "".join(pieces)
