"""Connecting: PyMySQL for the catalog and small queries, ConnectorX for Arrow reads.

The two are translated from the same parsed settings here and nowhere else.
PyMySQL reports server error numbers, so every connection test and catalog
query goes through it; ConnectorX (Rust, straight to Arrow) streams the data.
ConnectorX retries a failing login for about 30 s, so a read opens a PyMySQL
session first and fails fast, with a classified error, when the settings are wrong.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pyarrow as pa

from flowservice.connectors.mysql.connection_string import ConnectionSettings
from flowservice.connectors.mysql.errors import (
    ZeroDateRead,
    classify,
    reader_failed,
    tls_error,
    unreachable,
    zero_date_panic,
)
from flowservice.errors import ConnectorError

if TYPE_CHECKING:
    from pymysql.cursors import Cursor

# Every session reads TIMESTAMP values in UTC and talks utf8mb4 (4-byte characters intact).
SESSION_SETUP = ("SET time_zone = '+00:00'",)
_READER_SSL = {
    "disabled": "DISABLED",
    "preferred": "PREFERRED",
    "required": "REQUIRED",
    "verify_ca": "VERIFY_CA",
    "verify_identity": "VERIFY_IDENTITY",
}


def tls_context(settings: ConnectionSettings) -> ssl.SSLContext | None:
    """The client TLS context for ``SslMode`` (None: no TLS)."""
    if settings.ssl_mode == "disabled":
        return None
    if settings.ssl_mode in ("preferred", "required"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context = ssl.create_default_context(cafile=settings.ssl_ca)
    except (OSError, ssl.SSLError) as exc:
        raise tls_error(settings, "the SslCA file cannot be read as PEM certificates.") from exc
    context.check_hostname = settings.ssl_mode == "verify_identity"
    return context


def connect(settings: ConnectionSettings) -> Any:
    """An autocommit PyMySQL connection in a UTC utf8mb4 session; errors translated."""
    import pymysql  # imported only when a connection is made

    context = tls_context(settings)
    try:
        connection = pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            # as UTF-8 bytes: PyMySQL would encode a str as latin-1 and fail on other characters
            password=settings.password.encode("utf-8"),
            database=settings.database,
            charset="utf8mb4",
            connect_timeout=settings.connect_timeout,
            ssl=context,
            autocommit=True,
            init_command="; ".join(SESSION_SETUP),
        )
    except Exception as exc:
        raise classify(exc, settings) from exc
    encrypted = isinstance(getattr(connection, "_sock", None), ssl.SSLSocket)
    if settings.ssl_mode not in ("disabled", "preferred") and not encrypted:
        connection.close()
        raise tls_error(
            settings, "the server does not offer TLS; set SslMode=Preferred or Disabled."
        )
    return connection


@contextmanager
def session(settings: ConnectionSettings) -> Iterator[Cursor]:
    """A cursor on a fresh connection, closed afterwards; driver errors translated."""
    import pymysql

    connection = connect(settings)
    try:
        cursor = connection.cursor()
        try:
            yield cursor
        except (OSError, pymysql.err.Error) as exc:
            raise classify(exc, settings) from exc
        finally:
            cursor.close()
    finally:
        connection.close()


def reader_url(settings: ConnectionSettings) -> str:
    """The ConnectorX URL: every part percent-encoded, so no character of the password breaks it."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    path = quote(settings.database or "", safe="")
    url = (
        f"mysql://{quote(settings.user, safe='')}:{quote(settings.password, safe='')}"
        f"@{host}:{settings.port}/{path}?ssl-mode={_READER_SSL[settings.ssl_mode]}"
    )
    if settings.ssl_ca and settings.ssl_mode in ("verify_ca", "verify_identity"):
        url += f"&ssl-ca={quote(settings.ssl_ca, safe='')}"
    return url


def arrow_batches(settings: ConnectionSettings, sql: str, *, batch_rows: int) -> Iterator[Any]:
    """Stream ``sql`` as Arrow record batches through ConnectorX; failures get a fixed message
    (``ZeroDateRead`` when it stopped at a zero date)."""
    import connectorx

    try:
        reader = connectorx.read_sql(
            reader_url(settings),
            sql,
            return_type="arrow_stream",
            batch_size=batch_rows,
            pre_execution_query=list(SESSION_SETUP),
        )
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # its Rust panics derive from BaseException
        raise _reader_error(exc, settings) from exc
    if not isinstance(reader, pa.RecordBatchReader):
        raise reader_failed(settings)
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:
            raise _reader_error(exc, settings) from exc
        yield batch


def _reader_error(exc: BaseException, settings: ConnectionSettings) -> ConnectorError:
    if zero_date_panic(exc):
        return ZeroDateRead(f"A date read from {settings.where} has a zero year, month or day.")
    return reader_failed(settings)


def preflight(settings: ConnectionSettings) -> None:
    """Resolve the host and open its port, so each network failure gets its own message fast."""
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise unreachable("unknown_host", settings) from None
    refused = False
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.settimeout(settings.connect_timeout)
                probe.connect(address)
                return
        except ConnectionRefusedError:
            refused = True
        except TimeoutError:
            raise unreachable("timeout", settings) from None
        except OSError:
            continue
    raise unreachable("refused" if refused else "timeout", settings)
