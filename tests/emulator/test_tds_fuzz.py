"""Random and mutated packets never crash the server nor disturb a healthy session."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from tds_client import ALL_HEADERS, RawClient, login7, packets, prelogin, sql_batch

from mssql_emulator.tds.packets import HEADER, PacketType
from mssql_emulator.testing import RunningEmulator, running_emulator

TARGET_PACKETS = 10_000
TIME_BUDGET = 110.0  # a hard cap; the loop stops at the target (about 50 s here)


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[RunningEmulator]:
    with running_emulator(tls=True) as emu:
        yield emu


def _rpc_template() -> bytes:
    stmt = "SELECT @P1 + 1".encode("utf-16-le")
    defs = "@P1 int".encode("utf-16-le")
    body = bytearray(ALL_HEADERS)
    body += b"\xff\xff" + struct.pack("<HH", 10, 0)
    body += b"\x00\x00\xe7\xff\xff" + bytes.fromhex("0904d00034")
    body += struct.pack("<QI", len(stmt), len(stmt)) + stmt + b"\x00\x00\x00\x00"
    body += b"\x00\x00\xe7" + struct.pack("<H", 8000) + bytes.fromhex("0904d00034")
    body += struct.pack("<H", len(defs)) + defs
    body += b"\x03@\x00P\x001\x00\x00\x26\x04\x04" + struct.pack("<i", 41)
    return bytes(body)


TEMPLATES = [
    (PacketType.SQL_BATCH, sql_batch("SELECT 1 AS a; SELECT N'x' AS b")),
    (PacketType.RPC, _rpc_template()),
    (PacketType.TRANSACTION, ALL_HEADERS + b"\x05\x00\x00\x00"),
    (PacketType.TRANSACTION, ALL_HEADERS + b"\x07\x00\x00\x01\x00\x00"),
]


def _soft_mutate(rng: random.Random, ptype: int, data: bytes) -> bytes:
    """Keep the framing valid, scramble only text and values: exercises the engine path."""
    buf = bytearray(data)
    start = len(ALL_HEADERS) if ptype != PacketType.RPC else len(data) - 4
    if ptype == PacketType.TRANSACTION:
        return ALL_HEADERS + rng.choice(
            [
                b"\x05\x00\x00\x00",
                b"\x07\x00\x00\x00",
                b"\x08\x00\x00\x00",
                b"\x07\x00\x00\x01\x00\x00",
            ]
        )
    for _ in range(rng.randint(1, 6)):
        pos = rng.randrange(start, len(buf))
        if ptype == PacketType.SQL_BATCH and pos % 2:
            pos -= 1 if pos - 1 >= start else -1
        buf[pos] = rng.choice(b" ()';,*@=-+xyzSELECTFROM0123456789\x00\xff")
    return bytes(buf)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif choice < 0.6 and buf:
            del buf[rng.randrange(len(buf)) :]
        elif choice < 0.8:
            pos = rng.randrange(len(buf) + 1)
            buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif len(buf) >= 4:
            pos = rng.randrange(len(buf) - 3)
            buf[pos : pos + 4] = struct.pack("<I", rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 1 << 20]))
    return bytes(buf)


def _frame(rng: random.Random, ptype: int, payload: bytes) -> tuple[bytes, int]:
    """The message as packets of a random size, one header sometimes lying; and the count."""
    size = rng.choice([4096, 512, 128, 48])
    raw = bytearray(packets(ptype, payload, size))
    count = max(1, -(-len(payload) // (size - 8)))
    if rng.random() < 0.15:  # lie in one header: type, status or length
        start = rng.randrange(count) * size
        raw[start + rng.choice([0, 1, 2, 3])] = rng.randrange(256)
    return bytes(raw), count


def _drain(sock: socket.socket, timeout: float) -> bool:
    """Read whatever the server answers; False once it closed the connection."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return False
            if len(data) >= 13 and data[-13] in (0xFD, 0xFE) and not data[-12] & 0x01:
                return True
    except (TimeoutError, ConnectionError, OSError):
        return False


class Victim(threading.Thread):
    """A well-behaved session that must keep getting right answers throughout."""

    def __init__(self, emu: RunningEmulator) -> None:
        super().__init__(daemon=True)
        self.emu = emu
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []

    def run(self) -> None:
        import pytds

        with pytds.connect(
            self.emu.host,
            port=self.emu.port,
            user=self.emu.user,
            password=self.emu.password,
            database=self.emu.database,
            login_timeout=10,
            timeout=30,
            autocommit=True,
        ) as conn:
            cur = conn.cursor()
            n = 0
            while not self.stop.is_set():
                n += 1
                try:
                    cur.execute("SELECT %s + 1", (n,))
                    value = cur.fetchone()[0]
                    if value != n + 1:
                        self.failures.append(f"{n}: got {value}")
                    self.ok += 1
                except Exception as exc:
                    self.failures.append(repr(exc))
                time.sleep(0.01)


def test_fuzzed_packets_do_not_disturb_other_sessions(fuzz_target: RunningEmulator) -> None:
    emu = fuzz_target
    rng = random.Random(20240229)
    victim = Victim(emu)
    victim.start()
    sent = 0
    deadline = time.monotonic() + TIME_BUDGET
    try:
        # 1. garbage before and instead of PRELOGIN, several packets per connection
        while sent < 2500 and time.monotonic() < deadline:
            with socket.create_connection((emu.host, emu.port), timeout=2) as sock:
                for _ in range(rng.randint(1, 5)):
                    if rng.random() < 0.5:
                        chunk = rng.randbytes(rng.randint(1, 300))
                    else:
                        chunk, _ = _frame(rng, PacketType.PRELOGIN, _mutate(rng, prelogin()))
                    try:
                        sock.sendall(chunk)
                    except OSError:
                        break
                    sent += 1
        marks = [round(TIME_BUDGET - (deadline - time.monotonic()), 1)]
        # 2. mutated LOGIN7 after a valid PRELOGIN
        login = login7(emu.user, emu.password, emu.database)
        while sent < 5500 and time.monotonic() < deadline:
            client = RawClient(emu.port, timeout=2)
            try:
                client.send(PacketType.PRELOGIN, prelogin())
                client.read_message()
                raw, count = _frame(rng, PacketType.LOGIN7, _mutate(rng, login))
                client.sock.sendall(raw)
                sent += count
                _drain(client.sock, 0.05)
            except (OSError, ConnectionError):
                pass
            finally:
                client.close()
        marks.append(round(TIME_BUDGET - (deadline - time.monotonic()), 1))
        # 3. mutated requests inside logged-in sessions; reconnect whenever dropped
        client = None
        while (sent < TARGET_PACKETS or sent < 10_500) and time.monotonic() < deadline:
            if client is None:
                client = RawClient(emu.port, timeout=2)
                client.login(emu.user, emu.password, emu.database)
            ptype, template = rng.choice(TEMPLATES)
            if rng.random() < 0.03:
                ptype = rng.randrange(256)
            if rng.random() < 0.7:
                payload = _soft_mutate(rng, ptype, template)
            else:
                payload = _mutate(rng, template)
            try:
                raw, count = _frame(rng, ptype, payload)
                client.sock.sendall(raw)
                sent += count
                alive = _drain(client.sock, 0.05)
            except OSError:
                alive = False
            if not alive:
                client.close()
                client = None
        if client is not None:
            client.close()
        marks.append(round(TIME_BUDGET - (deadline - time.monotonic()), 1))
        # 4. abrupt disconnects in the middle of large results
        for _ in range(20):
            client = RawClient(emu.port, timeout=2)
            client.login(emu.user, emu.password, emu.database)
            client.send(
                PacketType.SQL_BATCH,
                sql_batch(
                    "SELECT REPLICATE(N'z', 4000) FROM (VALUES (1),(2),(3),(4),"
                    "(5),(6),(7),(8)) a(n) CROSS JOIN (VALUES (1),(2),(3),(4)) b(n)"
                ),
            )
            client.sock.recv(100)
            client.close()
            sent += 1
    finally:
        victim.stop.set()
        victim.join(30)
    print(f"fuzz: {sent} packets, phases ended at {marks}, victim ok {victim.ok}")
    assert sent >= TARGET_PACKETS, f"only {sent} packets in the time budget"
    assert victim.failures == []
    assert victim.ok > 50
    # the server still accepts and answers new sessions
    client = RawClient(emu.port)
    try:
        client.login(emu.user, emu.password, emu.database)
        assert client.query("SELECT 5 AS n")[0] == 0x81
    finally:
        client.close()
    assert HEADER.size == 8
