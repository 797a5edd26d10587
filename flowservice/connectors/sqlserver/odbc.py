"""The one translation from parsed settings to mssql-python's ODBC keywords, and connecting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowservice.connectors.sqlserver.connection_string import ConnectionSettings
from flowservice.connectors.sqlserver.errors import classify

if TYPE_CHECKING:
    from mssql_python import Connection

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


def connect(settings: ConnectionSettings) -> Connection:
    """Open an autocommit connection within the connect timeout; driver errors translated."""
    import mssql_python  # heavy native module: imported only when a connection is made

    keywords: dict[str, Any] = dict(odbc_keywords(settings))
    try:
        return mssql_python.connect(autocommit=True, timeout=settings.connect_timeout, **keywords)
    except mssql_python.Error as exc:
        raise classify(exc, settings) from exc
