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

from flowservice.errors import InvalidRequest

SslMode = Literal["disabled", "preferred", "required", "verify_ca", "verify_identity"]

DEFAULT_PORT = 3306
DEFAULT_CONNECT_TIMEOUT = 15
MAX_CONNECT_TIMEOUT = 600
MASK = "****"

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
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s_-]+")


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


@dataclass(frozen=True)
class Pair:
    """One ``keyword=value`` pair and where its value sits in the original string."""

    keyword: str  # lower case, single spaces
    written: str
    value: str
    value_start: int
    value_end: int


def split_pairs(text: str) -> list[Pair]:
    """Tokenise ``text``; ``InvalidRequest`` on a syntax error (never quoting the text)."""
    pairs: list[Pair] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in "; \t\r\n":
            pos += 1
            continue
        eq = text.find("=", pos)
        semi = text.find(";", pos)
        if eq < 0 or 0 <= semi < eq:
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
                    f"Connection string: the value of '{_safe(keyword)}' opens with "
                    f"{opening} but is never closed."
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
    """Parse and validate a MySQL / MariaDB connection string."""
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
            # most likely the rest of a password that contains ';': never echo it
            raise InvalidRequest(
                "Connection string: unknown keyword right after the PWD value; "
                "if the password contains ';', quote it: PWD='...'."
            )
        if setting is None:
            raise InvalidRequest(
                f"Connection string: unknown keyword '{_safe(pair.written)}'. "
                "See docs/sources/mysql-mariadb.md for the keywords supported."
            )
        values[setting] = pair.value
        previous = setting
    return _settings_from(values)


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
            f"Connection string: Port must be a number from 1 to 65535, not '{_safe(raw)}'."
        )
    return int(value)


def _ssl_mode(raw: str | None) -> SslMode:
    if raw is None or not raw.strip():
        return "preferred"
    found = _SSL_MODES.get(_SEPARATORS.sub("", raw.strip().lower()))
    if found is None:
        raise InvalidRequest(
            "Connection string: SslMode must be Disabled, Preferred, Required, VerifyCA or "
            f"VerifyIdentity (or 0-4), not '{_safe(raw)}'."
        )
    return found


def _connect_timeout(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_CONNECT_TIMEOUT:
        raise InvalidRequest(
            "Connection string: Connect Timeout must be a whole number of seconds from 1 "
            f"to {MAX_CONNECT_TIMEOUT}, not '{_safe(raw)}'."
        )
    return int(value)


def mask_password(text: str) -> str:
    """The connection string as written, with every password value replaced by ``****``."""
    try:
        pairs = split_pairs(text)
    except InvalidRequest:
        return MASK  # unparseable: any part of it might be the secret
    pieces: list[str] = []
    last = 0
    for pair in pairs:
        if KEYWORDS.get(pair.keyword) == "password":
            pieces.append(text[last : pair.value_start])
            pieces.append(MASK)
            last = pair.value_end
    pieces.append(text[last:])
    return "".join(pieces)
