"""The fork server: ``python -m flowservice.flows.source_process.fork_server SOCKET``.

It imports every connector and the modules they name in ``preload_modules``
(database drivers) once, listens on a Unix socket in a directory only its user
can enter, and forks one child per connection. The child reads the requested
table and streams it back (``frames``), then exits; children are reaped by the
kernel. The server itself is single-threaded (its launcher turns off Arrow's
allocator and OpenMP threads, so forking is safe) and exits when
its standard input closes, i.e. when the service that started it stops or dies.
"""

from __future__ import annotations

import importlib
import os
import pickle
import select
import signal
import socket
import sys

from flowservice.connectors.registry import connectors
from flowservice.errors import SourceSystemError
from flowservice.flows.source_process.frames import (
    READY,
    SOCKET_BUFFER_BYTES,
    Kind,
    ReadRequest,
    receive,
    send,
)


def preload() -> None:
    for cls in connectors().values():
        for module in cls.preload_modules:
            importlib.import_module(module)


def serve_read(sock: socket.socket) -> None:
    """Answer one ``REQUEST`` on ``sock`` (runs in the forked child)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
    kind, payload = receive(sock)
    if kind is not Kind.REQUEST:
        raise SourceSystemError(f"expected a read request, got frame {kind.name}")
    request: ReadRequest = pickle.loads(payload)
    send(sock, Kind.PID, str(os.getpid()).encode())
    outcome: BaseException | None = None
    try:
        started = False
        for batch in request.batches():
            if not started:
                send(sock, Kind.SCHEMA, memoryview(batch.schema.serialize()))
                started = True
            send(sock, Kind.BATCH, memoryview(batch.serialize()))
    except (BrokenPipeError, ConnectionResetError):
        raise  # the run stopped listening: nobody to tell
    except Exception as exc:
        outcome = exc
    send(sock, Kind.END, _pickled(outcome))


def _pickled(outcome: BaseException | None) -> bytes:
    try:
        return pickle.dumps(outcome)
    except Exception:
        fallback = SourceSystemError(f"the source read failed ({type(outcome).__name__})")
        return pickle.dumps(fallback)


def _fork_child(conn: socket.socket, listener: socket.socket) -> None:
    """In the child: serve the one connection, then leave without running the server's exit."""
    code = 0
    try:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        serve_read(conn)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def serve(path: str) -> None:
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished children
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which closes stdin
    print(READY, flush=True)
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([listener, stdin], [], [])
        if stdin in readable and not os.read(stdin, 4096):
            return  # the service closed our stdin: it stopped or died
        if listener in readable:
            conn, _ = listener.accept()
            if os.fork() == 0:
                _fork_child(conn, listener)
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
