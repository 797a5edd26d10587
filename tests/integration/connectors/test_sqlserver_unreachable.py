"""Connection tests that need no SQL Server: a closed port and an unknown host, real driver."""

from __future__ import annotations

import socket
import time

import pytest

from flowservice.connectors.sqlserver import odbc
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.errors import SourceConfigError, TransientSourceError

SECRET = "Unreachable-Secret-42"


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connector(server: str, timeout: int = 3) -> SqlServerConnector:
    return SqlServerConnector(
        {
            "connectionString": f"Data Source={server};Initial Catalog=db;User ID=u;"
            f"Password={SECRET};Encrypt=false;Connect Timeout={timeout}"
        }
    )


def test_closed_port_fails_fast_with_its_own_message() -> None:
    port = closed_port()
    started = time.monotonic()
    result = connector(f"127.0.0.1,{port}").check()
    assert time.monotonic() - started < 3
    assert result.ok is False
    assert result.details["reason"] == "refused"
    assert result.message is not None
    assert f"127.0.0.1:{port} (connection refused)" in result.message
    assert SECRET not in result.message


def test_unknown_host_fails_with_its_own_message() -> None:
    started = time.monotonic()
    result = connector("tcp:no-such-host.invalid,1433").check()
    assert time.monotonic() - started < 3 + 1
    assert result.ok is False
    assert result.details["reason"] == "unknown_host"
    assert result.message == (
        "Cannot resolve host name 'no-such-host.invalid': check the Data Source."
    )


def test_driver_errors_are_translated_when_the_port_is_closed() -> None:
    """Past the pre-flight (a direct ``connect``), the ODBC driver's failure is classified too."""
    port = closed_port()
    settings = connector(f"tcp:127.0.0.1,{port}", timeout=2).settings
    with pytest.raises(TransientSourceError) as caught:
        odbc.connect(settings)
    assert "connection refused" in caught.value.message
    assert SECRET not in caught.value.message
    assert caught.value.__cause__ is not None  # raised from the driver's exception


def test_explore_of_a_closed_port_fails_without_waiting_for_the_driver() -> None:
    """Every call probes the port first: the driver alone retries until its login timeout."""
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(TransientSourceError) as caught:
        connector(f"127.0.0.1,{port}", timeout=30).describe("dbo.t")
    assert time.monotonic() - started < 15  # the driver alone would wait out the 30 s
    assert "connection refused" in caught.value.message and SECRET not in caught.value.message


def test_driver_errors_are_translated_for_an_unknown_host() -> None:
    with pytest.raises(SourceConfigError) as caught:
        connector("no-such-host.invalid", timeout=2).list_objects()
    assert "Cannot resolve host name 'no-such-host.invalid'" in caught.value.message


def test_a_server_that_never_answers_times_out_within_the_connect_timeout() -> None:
    """A listener that accepts TCP but never speaks TDS (a hung server, a wrong service)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = connector(f"127.0.0.1,{port}", timeout=2).check()
        elapsed = time.monotonic() - started
    assert elapsed < 2 + 1.5
    assert result.ok is False
    assert result.details["reason"] == "timeout"
    assert result.message is not None
    assert result.message.startswith(f"No answer from 127.0.0.1:{port} within 2 s")
    assert SECRET not in result.message
