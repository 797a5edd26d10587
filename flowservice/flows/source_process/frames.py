"""The frames a read child and the run exchange over their socket.

Each frame is a kind byte and a payload length (little-endian u64), then the
payload. The run sends one ``REQUEST`` (a pickled ``ReadRequest``); the child
answers ``PID``, then ``SCHEMA`` before its first ``BATCH`` (Arrow IPC
messages), and always ends with ``END`` holding a pickled ``None`` (the read
completed) or the exception it ended with.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

import pyarrow as pa

from flowservice.connectors.base import Connector, KeyRange, ReadWindow

HEADER = struct.Struct("<BQ")
READY = "flowservice-source-fork-server ready"
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024


class Kind(IntEnum):
    REQUEST = 1
    PID = 2
    SCHEMA = 3
    BATCH = 4
    END = 5


@dataclass(frozen=True)
class ReadRequest:
    """What the child reads: ``connector.read(table, columns=..., window=..., ...)``, or with
    ``changes_since`` ``connector.read_changes(table, since_version=..., ...)``."""

    connector: Connector
    table: str
    columns: list[str] | None
    window: ReadWindow | None
    batch_rows: int
    key_range: KeyRange | None = None
    changes_since: int | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The connector's stream this request asks for (called in the child)."""
        if self.changes_since is not None:
            return self.connector.read_changes(
                self.table,
                since_version=self.changes_since,
                columns=self.columns,
                batch_rows=self.batch_rows,
            )
        # connectors that cannot split are never asked for a key range
        ranged = {} if self.key_range is None else {"key_range": self.key_range}
        return self.connector.read(
            self.table,
            columns=self.columns,
            window=self.window,
            batch_rows=self.batch_rows,
            **ranged,
        )


def send(sock: socket.socket, kind: Kind, payload: bytes | memoryview) -> None:
    sock.sendall(HEADER.pack(kind, len(payload)))
    sock.sendall(payload)


def receive(sock: socket.socket) -> tuple[Kind, bytearray]:
    """The next frame; ``EOFError`` if the other side went away before it was whole.

    Each part arrives in one blocking call (``MSG_WAITALL``), so a reader thread
    gives up and takes back the GIL once per frame rather than once per chunk.
    """
    kind, size = HEADER.unpack(_exactly(sock, HEADER.size))
    return Kind(kind), _exactly(sock, size)


def _exactly(sock: socket.socket, size: int) -> bytearray:
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:], size - got, socket.MSG_WAITALL)
        if count == 0:
            raise EOFError("the read process closed its socket mid-frame")
        got += count
    return data
