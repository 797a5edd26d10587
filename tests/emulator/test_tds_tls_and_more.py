"""TLS modes, SQLAlchemy, attention, concurrent sessions."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from drivers import DRIVERS
from tds_client import RawClient, error_numbers, prelogin, sql_batch

from mssql_emulator.tds.packets import PacketType
from mssql_emulator.testing import RunningEmulator, running_emulator

BY_NAME = {d.name: d for d in DRIVERS}
# DuckDB cannot prune this from column statistics: 10^12 rows of real work.
SLOW_PREDICATE = "(a.n * 7919 + b.n * 104729 + c.n * 1299709 + d.n) % 1000003 = 17"


def _encryption_answer(port: int, client_value: int) -> int:
    client = RawClient(port)
    try:
        client.send(PacketType.PRELOGIN, prelogin(encryption=client_value))
        reply = client.read_message()
    finally:
        client.close()
    return reply[0x20]  # the ENCRYPTION option's byte in the reply layout


def test_encryption_negotiation_table(emulator: RunningEmulator) -> None:
    # With TLS available: NOT_SUP stays plaintext, OFF means login-only TLS, ON full TLS.
    assert _encryption_answer(emulator.port, 2) == 2
    assert _encryption_answer(emulator.port, 0) == 0
    assert _encryption_answer(emulator.port, 1) == 1
    with running_emulator(engine=_shared_engine(emulator)) as plain:
        assert _encryption_answer(plain.port, 0) == 2
        assert _encryption_answer(plain.port, 1) == 2


def _shared_engine(emu: RunningEmulator):  # type: ignore[no-untyped-def]
    return emu.server.engine


@pytest.mark.parametrize(
    "name", ["mssql-python", "mssql-python-tls", "pyodbc-freetds", "pyodbc-msodbc18"]
)
def test_login_only_and_full_tls_sessions_keep_working(
    emulator: RunningEmulator, name: str
) -> None:
    # Encrypt=no (mssql-python, Microsoft ODBC) and FreeTDS send OFF: TLS for LOGIN7 only,
    # then plaintext.
    conn = BY_NAME[name].connect(emulator)
    try:
        cur = conn.cursor()
        for i in range(3):
            cur.execute(f"SELECT {i} + 1")
            assert cur.fetchone()[0] == i + 1
    finally:
        conn.close()


def test_sqlalchemy_pymssql_dialect_initializes(emulator: RunningEmulator) -> None:
    import sqlalchemy as sa

    url = sa.URL.create(
        "mssql+pymssql",
        username=emulator.user,
        password=emulator.password,
        host=emulator.host,
        port=emulator.port,
        database=emulator.database,
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 40 + 2")).scalar() == 42
            assert engine.dialect.server_version_info[0] == 16
    finally:
        engine.dispose()


def test_sqlalchemy_pyodbc_dialect_initializes(emulator: RunningEmulator) -> None:
    import sqlalchemy as sa

    odbc = emulator.freetds_connection_string()
    engine = sa.create_engine(sa.URL.create("mssql+pyodbc", query={"odbc_connect": odbc}))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT N'ok'")).scalar() == "ok"
    finally:
        engine.dispose()


def test_many_concurrent_sessions(emulator: RunningEmulator) -> None:
    table = f"conc_{uuid.uuid4().hex[:8]}"
    driver = BY_NAME["pytds"]
    setup = driver.connect(emulator)
    setup.cursor().execute(f"CREATE TABLE {table} (worker int, n int)")
    setup.commit()
    setup.close()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            conn = driver.connect(emulator)
            cur = conn.cursor()
            for n in range(5):
                cur.execute(driver.sql(f"INSERT INTO {table} VALUES (?, ?)"), (worker, n))
                conn.commit()
            cur.execute(driver.sql(f"SELECT COUNT(*) FROM {table} WHERE worker = ?"), (worker,))
            assert cur.fetchone()[0] == 5
            conn.close()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    check = driver.connect(emulator)
    cur = check.cursor()
    cur.execute(f"SELECT COUNT(*) FROM {table}")
    assert cur.fetchone()[0] == 60
    check.close()


def test_attention_stops_a_long_result_and_the_session_goes_on(
    emulator: RunningEmulator,
) -> None:
    table = f"big_{uuid.uuid4().hex[:8]}"
    digits = ", ".join(f"({i})" for i in range(10))
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.query(f"CREATE TABLE {table} (n int, s nvarchar(max))")
        client.query(
            f"INSERT INTO {table} SELECT a.d * 100 + b.d * 10 + c.d, REPLICATE(N'x', 4000) "
            f"FROM (VALUES {digits}) a(d) CROSS JOIN (VALUES {digits}) b(d) "
            f"CROSS JOIN (VALUES {digits}) c(d)"
        )
        # 16 MB of rows: far more than the socket buffers hold, so the reply is still
        # being written when the attention arrives.
        client.send(
            PacketType.SQL_BATCH,
            sql_batch(f"SELECT s FROM {table} CROSS JOIN (VALUES (1), (2)) t(k)"),
        )
        client.send(PacketType.ATTENTION, b"")
        received = b""
        total = 0
        while not (len(received) >= 13 and received[-13] == 0xFD and received[-12] & 0x20):
            received = client.read_message()
            total += len(received)
        assert total < 2000 * 8000  # cut short: the whole result is 16 MB of text
        reply = client.query("SELECT 7 AS n")
        assert reply[0] == 0x81 and b"\x04\x07\x00\x00\x00" in reply
    finally:
        client.close()


def test_attention_interrupts_a_long_running_statement(emulator: RunningEmulator) -> None:
    table = f"slow_{uuid.uuid4().hex[:8]}"
    digits = ", ".join(f"({i})" for i in range(10))
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.query(f"CREATE TABLE {table} (n int)")
        client.query(
            f"INSERT INTO {table} SELECT a.d * 100 + b.d * 10 + c.d "
            f"FROM (VALUES {digits}) a(d) CROSS JOIN (VALUES {digits}) b(d) "
            f"CROSS JOIN (VALUES {digits}) c(d)"
        )
        # 10^12 combinations: runs for a very long time unless interrupted
        client.send(
            PacketType.SQL_BATCH,
            sql_batch(
                f"SELECT COUNT(*) FROM {table} a CROSS JOIN {table} b CROSS JOIN {table} c "
                f"CROSS JOIN {table} d WHERE {SLOW_PREDICATE}"
            ),
        )
        time.sleep(0.5)
        started = time.monotonic()
        client.send(PacketType.ATTENTION, b"")
        received = b""
        while not (len(received) >= 13 and received[-13] == 0xFD and received[-12] & 0x20):
            received = client.read_message()
        assert time.monotonic() - started < 10
        assert error_numbers(received) == []  # a cancel is acknowledged, not an error
        assert client.query("SELECT 8 AS n")[0] == 0x81
    finally:
        client.close()


@pytest.mark.parametrize("name", ["pytds", "pyodbc-freetds", "pyodbc-msodbc18"])
def test_driver_query_timeout_cancels_and_the_connection_survives(
    emulator: RunningEmulator, name: str
) -> None:
    import pytds

    table = f"tmo_{uuid.uuid4().hex[:8]}"
    digits = ", ".join(f"({i})" for i in range(10))
    if name == "pytds":
        conn = pytds.connect(
            emulator.host,
            port=emulator.port,
            user=emulator.user,
            password=emulator.password,
            database=emulator.database,
            login_timeout=10,
            timeout=1,
            autocommit=True,
        )
    else:
        conn = BY_NAME[name].connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (n int)")
        cur.execute(
            f"INSERT INTO {table} SELECT a.d * 100 + b.d * 10 + c.d "
            f"FROM (VALUES {digits}) a(d) CROSS JOIN (VALUES {digits}) b(d) "
            f"CROSS JOIN (VALUES {digits}) c(d)"
        )
        conn.commit()
        if name != "pytds":
            conn.timeout = 1  # ODBC query timeout (new cursors): FreeTDS sends an attention
            cur = conn.cursor()
        started = time.monotonic()
        with pytest.raises(Exception, match=r"(?i)time"):
            cur.execute(
                f"SELECT COUNT(*) FROM {table} a CROSS JOIN {table} b CROSS JOIN {table} c "
                f"CROSS JOIN {table} d WHERE {SLOW_PREDICATE}"
            )
        assert time.monotonic() - started < 15
        cur.execute("SELECT 5")
        assert cur.fetchone()[0] == 5
    finally:
        conn.close()


@pytest.mark.parametrize("tls", [True, False], ids=["tls-configured", "no-tls-configured"])
@pytest.mark.parametrize(
    "query",
    [
        "encrypt=false&trust_server_certificate=true",
        "encrypt=true&trust_server_certificate=true",
        "trust_server_certificate=true",
    ],
)
def test_connectorx_reads_with_every_encryption_setting(
    emulator: RunningEmulator, tls: bool, query: str
) -> None:
    # tiberius goes TLS even when the server answers NOT_SUP; the emulator follows it.
    import connectorx as cx

    with running_emulator(
        engine=_shared_engine(emulator),
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        tls=tls,
    ) as emu:
        url = f"mssql://{emu.user}:{emu.password}@{emu.host}:{emu.port}/{emu.database}?{query}"
        table = cx.read_sql(url, "SELECT 1 AS a, N'x' AS b", return_type="arrow")
    assert table.to_pylist() == [{"a": 1, "b": "x"}]
