"""char/varchar travel in code page 1252, every byte of it, as SQL Server sends them."""

from __future__ import annotations

import pytest
from drivers import DRIVERS, Driver
from hypothesis import given, settings
from hypothesis import strategies as st

from mssql_emulator import code_page
from mssql_emulator.testing import RunningEmulator

PYTDS = next(d for d in DRIVERS if d.name == "pytds")


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_binary_cast_to_varchar_reads_as_code_page_1252(
    emulator: RunningEmulator, driver: Driver
) -> None:
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute("SELECT CAST(0xE9E880 AS varchar(3)), CAST(0xE900 AS nvarchar(1))")
        assert tuple(cur.fetchone()) == ("éè€", "é")
    finally:
        conn.close()


def test_an_undefined_byte_reaches_the_client_unchanged(emulator: RunningEmulator) -> None:
    """0x90 has no cp1252 character: SQL Server sends the byte, and pytds cannot decode it."""
    conn = PYTDS.connect(emulator)
    try:
        cur = conn.cursor()
        with pytest.raises(UnicodeDecodeError) as raised:
            cur.execute("SELECT CAST(0x90 AS varchar)")
            cur.fetchall()
        assert raised.value.object[raised.value.start : raised.value.end] == b"\x90"
    finally:
        conn.close()


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64))
def test_every_byte_string_round_trips(raw: bytes) -> None:
    text = code_page.decode(raw)
    assert len(text) == len(raw)
    assert code_page.encode(text) == raw
