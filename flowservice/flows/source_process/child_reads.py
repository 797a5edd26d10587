"""The run's side of one or more read children: their frames turned into one batch stream."""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import socket
from collections.abc import Iterator, Sequence

import pyarrow as pa

from flowservice.errors import SourceSystemError
from flowservice.flows.source_process.frames import Kind, ReadRequest, receive, send


class ChildRead:
    """One request sent to a read child; ``step`` handles its next frame."""

    def __init__(self, sock: socket.socket, request: ReadRequest) -> None:
        self.sock = sock
        self.finished = False
        self._pid: int | None = None
        self._schema: pa.Schema | None = None
        try:
            send(sock, Kind.REQUEST, pickle.dumps(request))
        except BaseException as exc:
            sock.close()
            if isinstance(exc, OSError):
                raise SourceSystemError("the source read process took no request") from None
            raise  # e.g. a connector that cannot be pickled

    def step(self) -> pa.RecordBatch | None:
        """The batch the next frame holds, or None; raises the child's failure at its end."""
        try:
            kind, payload = receive(self.sock)
        except (EOFError, OSError):
            raise SourceSystemError("the source read process ended unexpectedly") from None
        if kind is Kind.PID:
            self._pid = int(payload)
        elif kind is Kind.SCHEMA:
            self._schema = pa.ipc.read_schema(pa.py_buffer(payload))
        elif kind is Kind.BATCH and self._schema is not None:
            return pa.ipc.read_record_batch(pa.py_buffer(payload), self._schema)
        elif kind is Kind.END:
            self.finished = True
            failure: BaseException | None = pickle.loads(payload)
            if failure is not None:
                raise failure
        else:
            raise SourceSystemError(f"unexpected frame {kind.name} from a source read")
        return None

    def close(self) -> None:
        """Close the socket; a child that has not finished is terminated (it may be waiting
        on the database, where a closed socket goes unnoticed)."""
        self.sock.close()
        if not self.finished and self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGTERM)


def merged(children: Sequence[ChildRead]) -> Iterator[pa.RecordBatch]:
    """Every child's batches, each as soon as it arrives; the first failure ends them all."""
    try:
        with selectors.DefaultSelector() as selector:
            for child in children:
                selector.register(child.sock, selectors.EVENT_READ, child)
            while selector.get_map():
                for key, _ in selector.select():
                    child = key.data
                    batch = child.step()
                    if batch is not None:
                        yield batch
                    if child.finished:
                        selector.unregister(child.sock)
    finally:
        for child in children:
            child.close()
