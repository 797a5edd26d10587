"""EncryptionMethod and ValidateServerCertificate against a real PostgreSQL that speaks TLS.

A second throw-away server (``.ci/start-postgres.sh DIR PORT tls``) with a self-signed
certificate for ``localhost``: the session's own ``pg_stat_ssl`` row says whether TLS was
used, and certificate checks pass only with that certificate as the trust store.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from flowservice.connectors.postgresql.connector import PostgresConnector
from flowservice.connectors.postgresql.session import catalog_cursor

ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = Path("/tmp/flowservice-pg-tls")
PORT = 55433


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``Server=…;Port=…;Database=…;UID=…;Password=…`` of the TLS server."""
    started = subprocess.run(
        ["bash", str(ROOT / ".ci" / "start-postgres.sh"), str(DATA_DIR), str(PORT), "tls"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    parts = urlsplit(started.stdout.strip().splitlines()[-1])
    yield (
        f"Port={parts.port};Database={parts.path.lstrip('/')};UID={parts.username};"
        f"Password={parts.password}"
    )


def _connector(server: str, host: str, extra: str) -> PostgresConnector:
    return PostgresConnector({"connectionString": f"Server={host};{server};{extra}"})


def _uses_tls(connector: PostgresConnector) -> bool:
    with catalog_cursor(connector.settings) as cursor:
        cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return bool(row[0])


def test_encryption_method_1_without_validation_encrypts(server: str) -> None:
    connector = _connector(server, "127.0.0.1", "EncryptionMethod=1;ValidateServerCertificate=0")
    assert connector.check().ok
    assert _uses_tls(connector) is True


def test_encryption_method_0_does_not(server: str) -> None:
    connector = _connector(server, "127.0.0.1", "EncryptionMethod=0")
    assert connector.check().ok
    assert _uses_tls(connector) is False


def test_an_untrusted_certificate_is_refused_with_its_reason(server: str) -> None:
    result = _connector(
        server, "localhost", "EncryptionMethod=1;ValidateServerCertificate=1"
    ).check()
    assert result.ok is False
    assert result.details["reason"] == "tls_certificate", result
    assert "could not be verified" in (result.message or "")


def test_the_servers_certificate_as_trust_store_verifies(server: str) -> None:
    trust = f"TrustStore={DATA_DIR / 'tls' / 'server.crt'}"
    connector = _connector(
        server, "localhost", f"EncryptionMethod=1;ValidateServerCertificate=1;{trust}"
    )
    assert connector.check().ok, connector.check().message
    assert _uses_tls(connector) is True
    # the certificate names localhost: an address it does not name fails the host check
    by_address = _connector(
        server, "127.0.0.1", f"EncryptionMethod=1;ValidateServerCertificate=1;{trust}"
    )
    assert by_address.check().details["reason"] == "tls_certificate"
