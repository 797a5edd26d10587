"""ODBC keyword translation and the classification of real mssql-python exceptions."""

from __future__ import annotations

import mssql_python
import pytest

from flowservice.connectors.sqlserver.connection_string import (
    ConnectionSettings,
    parse_connection_string,
)
from flowservice.connectors.sqlserver.errors import classify, sql_server_error_number
from flowservice.connectors.sqlserver.odbc import odbc_keywords
from flowservice.errors import SourceConfigError, SourceSystemError, TransientSourceError

SECRET = "Hunter2-Secret"


def settings(extra: str = "") -> ConnectionSettings:
    return parse_connection_string(
        f"Data Source=db.corp,1433;Initial Catalog=sales;User ID=etl;Password={SECRET};{extra}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Data Source=db.corp,1433;Initial Catalog=sales;User ID=etl;Password=pw",
            {
                "Server": "tcp:db.corp,1433",
                "Database": "sales",
                "UID": "etl",
                "PWD": "pw",
                "Encrypt": "yes",
                "TrustServerCertificate": "no",
                "ApplicationIntent": "ReadWrite",
                "MultiSubnetFailover": "no",
            },
        ),
        (
            "Server=db\\PROD;UID=u;PWD='a;b}';Encrypt=optional;TrustServerCertificate=yes;"
            "ApplicationIntent=ReadOnly;MultiSubnetFailover=true;Packet Size=8192;"
            "HostNameInCertificate=db.corp;Application Name=ignored",
            {
                "Server": "db\\PROD",
                "UID": "u",
                "PWD": "a;b}",
                "Encrypt": "no",
                "TrustServerCertificate": "yes",
                "ApplicationIntent": "ReadOnly",
                "MultiSubnetFailover": "yes",
                "PacketSize": "8192",
                "HostnameInCertificate": "db.corp",
            },
        ),
        (
            "Server=db;UID=u;PWD=p;Encrypt=strict",
            {
                "Server": "tcp:db,1433",
                "UID": "u",
                "PWD": "p",
                "Encrypt": "strict",
                "TrustServerCertificate": "no",
                "ApplicationIntent": "ReadWrite",
                "MultiSubnetFailover": "no",
            },
        ),
        (
            "Server=(local)\\SQLEXPRESS,1500;UID=u;PWD=p",
            {
                "Server": "tcp:localhost,1500",
                "UID": "u",
                "PWD": "p",
                "Encrypt": "yes",
                "TrustServerCertificate": "no",
                "ApplicationIntent": "ReadWrite",
                "MultiSubnetFailover": "no",
            },
        ),
        (
            "Server=[::1],1433;UID=u;PWD=p",
            {
                "Server": "tcp:[::1],1433",
                "UID": "u",
                "PWD": "p",
                "Encrypt": "yes",
                "TrustServerCertificate": "no",
                "ApplicationIntent": "ReadWrite",
                "MultiSubnetFailover": "no",
            },
        ),
    ],
)
def test_translation_to_odbc_keywords(text: str, expected: dict[str, str]) -> None:
    assert odbc_keywords(parse_connection_string(text)) == expected


def test_mssql_python_accepts_every_translated_keyword() -> None:
    """The driver's own allow-list (it rejects ADO.NET names) knows every keyword we send."""
    allowed = {v.lower() for v in mssql_python.constants._ALLOWED_CONNECTION_STRING_PARAMS.values()}
    full = settings("Packet Size=4096;HostNameInCertificate=x")
    assert {k.lower() for k in odbc_keywords(full)} <= allowed


def driver_error(cls: type[mssql_python.Error], state: str, text: str) -> mssql_python.Error:
    """An exception as the driver raises it: the ODBC driver's prefix is trimmed on creation."""
    raw = text.replace("[Microsoft]", "[Microsoft][ODBC Driver 18 for SQL Server]", 1)
    return cls(driver_error=f"SQLSTATE {state}", ddbc_error=raw)


CASES = [
    (
        driver_error(
            mssql_python.ProgrammingError,
            "28000",
            "[Microsoft][SQL Server]Login failed for user 'etl'.",
        ),
        SourceConfigError,
        "login_failed",
        "Login failed for user 'etl'",
    ),
    (
        driver_error(
            mssql_python.ProgrammingError,
            "42000",
            '[Microsoft][SQL Server]Cannot open database "sales" requested by the login. '
            "The login failed.",
        ),
        SourceConfigError,
        "unknown_database",
        "Cannot open database 'sales'",
    ),
    (
        driver_error(
            mssql_python.OperationalError, "08001", "[Microsoft]TCP Provider: Error code 0x2AF9"
        ),
        SourceConfigError,
        "unknown_host",
        "Cannot resolve host name 'db.corp'",
    ),
    (
        driver_error(
            mssql_python.OperationalError, "08001", "[Microsoft]TCP Provider: Error code 0x274D"
        ),
        TransientSourceError,
        "refused",
        "db.corp:1433 (connection refused)",
    ),
    (
        driver_error(
            mssql_python.OperationalError,
            "08001",
            "[Microsoft]SSL Provider: [error:0A000086:SSL routines::certificate verify failed:"
            "self-signed certificate]",
        ),
        SourceConfigError,
        "tls",
        "TrustServerCertificate=true",
    ),
    (
        driver_error(
            mssql_python.OperationalError,
            "08001",
            "[Microsoft]Encryption not supported on the client.",
        ),
        SourceConfigError,
        "tls",
        "Encrypt=false",
    ),
    (
        driver_error(
            mssql_python.OperationalError,
            "40001",
            "[Microsoft][SQL Server]Transaction (Process ID 53) was deadlocked on lock resources "
            "with another process and has been chosen as the deadlock victim.",
        ),
        TransientSourceError,
        "deadlock",
        "deadlock victim",
    ),
    (
        driver_error(
            mssql_python.ProgrammingError,
            "42000",
            "[Microsoft][SQL Server]The SELECT permission was denied on the object 't'.",
        ),
        SourceConfigError,
        "permission_denied",
        "lacks permission",
    ),
    (
        driver_error(
            mssql_python.OperationalError, "08001", "[Microsoft]TCP Provider: Error code 0x2746"
        ),
        TransientSourceError,
        "lost",
        "db.corp:1433 was lost",
    ),
    (
        driver_error(
            mssql_python.OperationalError, "08001", "[Microsoft]TCP Provider: Timeout error [258]. "
        ),
        TransientSourceError,
        "timeout",
        "No answer from db.corp:1433 within 15 s",
    ),
    (
        driver_error(mssql_python.OperationalError, "HYT00", "[Microsoft]Login timeout expired"),
        TransientSourceError,
        "timeout",
        "did not answer in time",
    ),
    (
        driver_error(
            mssql_python.OperationalError, "08S01", "[Microsoft]Communication link failure"
        ),
        TransientSourceError,
        "lost",
        "was lost",
    ),
    (
        driver_error(
            mssql_python.DatabaseError, "HY000", f"[Microsoft]Something odd with {SECRET}"
        ),
        SourceSystemError,
        "unexpected",
        "SQL Server failed unexpectedly: SQLSTATE HY000.",
    ),
]


@pytest.mark.parametrize(("exc", "kind", "reason", "fragment"), CASES)
def test_driver_errors_are_classified(
    exc: mssql_python.Error, kind: type[Exception], reason: str, fragment: str
) -> None:
    error = classify(exc, settings())
    assert type(error) is kind
    assert error.reason == reason  # type: ignore[attr-defined]
    assert fragment in error.message
    assert SECRET not in error.message


def test_error_numbers_from_messages() -> None:
    assert sql_server_error_number("Login failed for user 'x'.") == 18456
    assert sql_server_error_number("[42000] (4060) whatever") == 4060
    assert sql_server_error_number("Invalid object name 'dbo.nope'.") == 208
    assert sql_server_error_number("[42000] (99999) unknown") is None
    assert sql_server_error_number("nothing here") is None


def test_config_errors_are_not_retryable_and_transient_ones_are() -> None:
    config = classify(CASES[0][0], settings())
    transient = classify(CASES[6][0], settings())
    assert not config.retryable
    assert transient.retryable


def test_encrypt_strict_against_an_older_server_is_a_tls_problem() -> None:
    exc = driver_error(
        mssql_python.OperationalError, "08001", "[Microsoft]TCP Provider: Error code 0x2746"
    )
    error = classify(exc, settings("Encrypt=strict"))
    assert type(error) is SourceConfigError
    assert error.reason == "tls"  # type: ignore[attr-defined]
    assert "Encrypt=strict needs a server that speaks TDS 8.0" in error.message
