"""The four real drivers behind one small adapter, so each test runs against all of them."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mssql_emulator.testing import RunningEmulator

Connect = Callable[[RunningEmulator, str, str, str], Any]


def _pytds(emu: RunningEmulator, user: str, password: str, database: str) -> Any:
    import pytds

    return pytds.connect(
        emu.host,
        port=emu.port,
        user=user,
        password=password,
        database=database,
        login_timeout=10,
        timeout=30,
        autocommit=False,
    )


def _pymssql(emu: RunningEmulator, user: str, password: str, database: str) -> Any:
    import pymssql

    return pymssql.connect(
        server=emu.host,
        port=str(emu.port),
        user=user,
        password=password,
        database=database,
        login_timeout=10,
        timeout=30,
        tds_version="7.4",
    )


def _datetimeoffset(raw: bytes) -> dt.datetime:
    """pyodbc hands SQL_SS_TIMESTAMPOFFSET (-155) over as its C struct; applications decode it."""
    year, month, day, hour, minute, second, nanos, tz_h, tz_m = struct.unpack("<6hI2h", raw)
    zone = dt.timezone(dt.timedelta(hours=tz_h, minutes=tz_m))
    return dt.datetime(year, month, day, hour, minute, second, nanos // 1000, tzinfo=zone)


def _pyodbc(emu: RunningEmulator, user: str, password: str, database: str) -> Any:
    import pyodbc

    conn = pyodbc.connect(
        f"DRIVER={{FreeTDS}};SERVER={emu.host};PORT={emu.port};DATABASE={database};"
        f"UID={user};PWD={password};TDS_Version=7.4;ClientCharset=UTF-8",
        timeout=10,
    )
    conn.add_output_converter(-155, _datetimeoffset)
    return conn


def _msodbc18_library() -> str:
    """Microsoft's ODBC Driver 18, as the ``mssql-python-odbc`` wheel ships it for Debian."""
    import mssql_python_odbc

    libs = Path(mssql_python_odbc.__file__).parent / "libs/linux/debian_ubuntu/x86_64/lib"
    return str(next(libs.glob("libmsodbcsql-18*.so*")))


def msodbc18_connection_string(
    emu: RunningEmulator, user: str, password: str, database: str
) -> str:
    return (
        f"DRIVER={{{_msodbc18_library()}}};SERVER={emu.host},{emu.port};DATABASE={database};"
        f"UID={user};PWD={password};Encrypt=no"
    )


def _pyodbc_msodbc18(emu: RunningEmulator, user: str, password: str, database: str) -> Any:
    import pyodbc

    conn = pyodbc.connect(msodbc18_connection_string(emu, user, password, database), timeout=10)
    conn.add_output_converter(-155, _datetimeoffset)
    return conn


def _mssql_python(
    emu: RunningEmulator, user: str, password: str, database: str, encrypt: bool = False
) -> Any:
    import mssql_python

    tls = "Encrypt=yes;TrustServerCertificate=yes" if encrypt else "Encrypt=no"
    return mssql_python.connect(
        f"Server={emu.host},{emu.port};Database={database};UID={user};PWD={password};{tls}",
        timeout=10,
    )


def _mssql_python_tls(emu: RunningEmulator, user: str, password: str, database: str) -> Any:
    return _mssql_python(emu, user, password, database, encrypt=True)


@dataclass(frozen=True)
class Driver:
    name: str
    connect_fn: Connect
    paramstyle: str  # "qmark" or "format"

    def connect(
        self,
        emu: RunningEmulator,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
    ) -> Any:
        return self.connect_fn(
            emu, user or emu.user, password or emu.password, database or emu.database
        )

    def sql(self, text: str) -> str:
        """Write tests with ``?`` placeholders; format-style drivers get ``%s``."""
        return text.replace("?", "%s") if self.paramstyle == "format" else text


DRIVERS = [
    Driver("pytds", _pytds, "format"),
    Driver("pymssql", _pymssql, "format"),
    Driver("pyodbc-freetds", _pyodbc, "qmark"),
    Driver("pyodbc-msodbc18", _pyodbc_msodbc18, "qmark"),
    Driver("mssql-python", _mssql_python, "qmark"),
    Driver("mssql-python-tls", _mssql_python_tls, "qmark"),
]
