"""Parse the ADO.NET connection strings SQL Server users paste into typed settings.

Grammar: ``keyword=value`` pairs separated by ``;``. Keywords are
case-insensitive, surrounding whitespace is ignored and inner runs of spaces
count as one. A value may be quoted with ``'`` or ``"`` (a doubled quote
inside stands for one) or, as in ODBC strings, braced with ``{}`` (``}}``
stands for ``}``); quoted values may hold ``;``. Later pairs override earlier
ones, as in ADO.NET. Messages never contain the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from flowservice.connectors.keyword_strings import MASK as MASK
from flowservice.connectors.keyword_strings import Grammar, excerpt
from flowservice.errors import InvalidRequest

Encrypt = Literal["mandatory", "optional", "strict"]
Intent = Literal["ReadWrite", "ReadOnly"]

DEFAULT_CONNECT_TIMEOUT = 15
MAX_CONNECT_TIMEOUT = 600

# Canonical setting name for every keyword (after lower-casing and collapsing spaces).
KEYWORDS: dict[str, str] = {
    "data source": "server",
    "server": "server",
    "address": "server",
    "addr": "server",
    "network address": "server",
    "initial catalog": "database",
    "database": "database",
    "user id": "user",
    "userid": "user",
    "uid": "user",
    "user": "user",
    "password": "password",
    "pwd": "password",
    "integrated security": "integrated_security",
    "trusted_connection": "integrated_security",
    "encrypt": "encrypt",
    "trustservercertificate": "trust_server_certificate",
    "trust server certificate": "trust_server_certificate",
    "connect timeout": "connect_timeout",
    "connection timeout": "connect_timeout",
    "timeout": "connect_timeout",
    "applicationintent": "application_intent",
    "application intent": "application_intent",
    "application name": "application_name",
    "app": "application_name",
    "multisubnetfailover": "multi_subnet_failover",
    "multi subnet failover": "multi_subnet_failover",
    "hostnameincertificate": "host_name_in_certificate",
    "host name in certificate": "host_name_in_certificate",
    "packet size": "packet_size",
    "authentication": "authentication",
}

# Client-side ADO.NET settings that change nothing for a single server-side connection:
# accepted so that strings copied from portals (Azure's includes two of them) just work.
IGNORED_KEYWORDS = frozenset(
    {
        "persist security info",
        "persistsecurityinfo",
        "multipleactiveresultsets",
        "multiple active result sets",
        "pooling",
        "min pool size",
        "max pool size",
        "connection lifetime",
        "load balance timeout",
        "enlist",
        "workstation id",
        "wsid",
        "transparentnetworkipresolution",
        "connectretrycount",
        "connect retry count",
        "connectretryinterval",
        "connect retry interval",
        "driver",
    }
)

# Keywords of other drivers or features we do not offer: always safe to name in a message.
UNSUPPORTED_KEYWORDS = frozenset(
    {
        "provider",
        "dsn",
        "attachdbfilename",
        "extended properties",
        "initial file name",
        "user instance",
        "failover partner",
        "failoverpartner",
        "column encryption setting",
        "enclave attestation url",
        "attestation protocol",
        "network library",
        "network",
        "net",
        "current language",
        "language",
        "type system version",
        "context connection",
        "replication",
        "asynchronous processing",
        "async",
        "poolblockingperiod",
        "server spn",
        "serverspn",
        "ipaddresspreference",
        "keepalive",
        "keepaliveinterval",
    }
)

_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})
_ENCRYPT: dict[str, Encrypt] = {
    "true": "mandatory",
    "yes": "mandatory",
    "mandatory": "mandatory",
    "false": "optional",
    "no": "optional",
    "optional": "optional",
    "strict": "strict",
}
_SQL_AUTH = frozenset({"sqlpassword", "sql password"})


GRAMMAR = Grammar(
    KEYWORDS,
    IGNORED_KEYWORDS,
    "Password",
    "docs/sqlserver-connector.md",
    refused_later=UNSUPPORTED_KEYWORDS,
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ConnectionSettings:
    """What a connection string asks for, with every default filled in."""

    host: str
    user: str
    password: str = field(default="", repr=False)
    port: int | None = None
    instance: str | None = None
    database: str | None = None
    encrypt: Encrypt = "mandatory"
    trust_server_certificate: bool = False
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    application_intent: Intent = "ReadWrite"
    application_name: str | None = None
    multi_subnet_failover: bool = False
    host_name_in_certificate: str | None = None
    packet_size: int | None = None


def parse_connection_string(text: str) -> ConnectionSettings:
    """Parse and validate an ADO.NET connection string."""
    return _settings_from(GRAMMAR.values(text))


def _settings_from(values: dict[str, str]) -> ConnectionSettings:
    if _flag(values, "integrated_security", allow_sspi=True):
        raise InvalidRequest(
            "Connection string: Integrated Security (Windows authentication) is not "
            "available here; use SQL Server authentication with User ID and Password."
        )
    authentication = values.get("authentication")
    if authentication is not None and _SPACES.sub(" ", authentication.lower()) not in _SQL_AUTH:
        raise InvalidRequest(
            f"Connection string: Authentication='{excerpt(authentication)}' is not "
            "available here; only SQL Server authentication (User ID and Password) is."
        )
    server = values.get("server", "").strip()
    if not server:
        raise InvalidRequest("Connection string: Data Source (or Server) is required.")
    host, instance, port = parse_server(server)
    user = values.get("user", "")
    if not user.strip():
        raise InvalidRequest("Connection string: User ID is required (SQL Server authentication).")
    database = values.get("database") or None
    return ConnectionSettings(
        host=host,
        port=port,
        instance=instance,
        database=database,
        user=user,
        password=values.get("password", ""),
        encrypt=_encrypt(values.get("encrypt")),
        trust_server_certificate=_flag(values, "trust_server_certificate"),
        connect_timeout=_connect_timeout(values.get("connect_timeout")),
        application_intent=_intent(values.get("application_intent")),
        application_name=values.get("application_name") or None,
        multi_subnet_failover=_flag(values, "multi_subnet_failover"),
        host_name_in_certificate=values.get("host_name_in_certificate") or None,
        packet_size=_packet_size(values.get("packet_size")),
    )


def parse_server(server: str) -> tuple[str, str | None, int | None]:
    """Split ``[tcp:]host[\\instance][,port]`` into host, instance and port."""
    text = server.strip()
    lowered = text.lower()
    if lowered.startswith(("np:", "lpc:", "admin:")):
        protocol = text.split(":", 1)[0]
        raise InvalidRequest(
            f"Connection string: the '{protocol}:' protocol is not available here; "
            "use TCP (host,port)."
        )
    if lowered.startswith("(localdb)"):
        raise InvalidRequest("Connection string: LocalDB is not available here; use TCP.")
    if lowered.startswith("tcp:"):
        text = text[4:].strip()
    port: int | None = None
    if "," in text:
        text, port_text = (part.strip() for part in text.rsplit(",", 1))
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidRequest(
                f"Connection string: port '{excerpt(port_text)}' in Data Source "
                "is not a number between 1 and 65535."
            )
        port = int(port_text)
    instance: str | None = None
    if "\\" in text:
        text, instance = (part.strip() for part in text.split("\\", 1))
        if not instance or "\\" in instance:
            raise InvalidRequest("Connection string: the instance name in Data Source is invalid.")
    host = text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # a bracketed IPv6 literal
    if host.lower() in ("(local)", "."):
        host = "localhost"
    if not host or any(ch.isspace() for ch in host):
        raise InvalidRequest("Connection string: Data Source has no valid host name.")
    return host, instance, port


def _flag(values: dict[str, str], setting: str, *, allow_sspi: bool = False) -> bool:
    raw = values.get(setting)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE or (allow_sspi and value == "sspi"):
        return True
    if value in _FALSE:
        return False
    raise InvalidRequest(
        f"Connection string: {_DISPLAY[setting]} must be true or false, not '{excerpt(raw)}'."
    )


def _encrypt(raw: str | None) -> Encrypt:
    if raw is None:
        return "mandatory"
    found = _ENCRYPT.get(raw.strip().lower())
    if found is None:
        raise InvalidRequest(
            f"Connection string: Encrypt must be true, false, yes, no, mandatory, optional "
            f"or strict, not '{excerpt(raw)}'."
        )
    return found


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


def _intent(raw: str | None) -> Intent:
    value = (raw or "readwrite").strip().lower()
    if value == "readwrite":
        return "ReadWrite"
    if value == "readonly":
        return "ReadOnly"
    raise InvalidRequest(
        f"Connection string: ApplicationIntent must be ReadWrite or ReadOnly, "
        f"not '{excerpt(raw or '')}'."
    )


def _packet_size(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = raw.strip()
    if not value.isdigit() or not 512 <= int(value) <= 32767:
        raise InvalidRequest(
            f"Connection string: Packet Size must be a number from 512 to 32767, "
            f"not '{excerpt(raw)}'."
        )
    return int(value)


_DISPLAY = {
    "integrated_security": "Integrated Security",
    "trust_server_certificate": "TrustServerCertificate",
    "multi_subnet_failover": "MultiSubnetFailover",
}


def mask_password(text: str) -> str:
    """The connection string as written, with every password value replaced by ``****``."""
    return GRAMMAR.mask(text)
