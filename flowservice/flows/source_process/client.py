"""Run-side handle on the fork server: start it, read a table through a forked child.

Database drivers give the GIL back and take it again around every network read
of a fetch. In the server process other Python threads (API requests, the
scheduler, the Delta writer pulling batches) make each of those hand-overs wait,
and a read next to one busy thread runs many times slower. So a run's source read
happens in a child forked from a fork server that has the connectors and their
drivers imported already: the driver has a process to itself, the run receives
Arrow batches over a Unix socket (one copy, no Python per row), and a crashing
driver takes down only its child. The socket lives in a private directory: the
requests carry the connection's secrets and are pickles.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa

from flowservice.connectors.base import ChangeTrackingState, Connector, ReadWindow
from flowservice.errors import SourceSystemError
from flowservice.flows.source_process.child_reads import ChildRead, merged
from flowservice.flows.source_process.frames import READY, SOCKET_BUFFER_BYTES, ReadRequest

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 5.0
SOCKET_NAME = "reads.sock"


class SourceProcesses:
    """One fork server for this process's runs; started on ``start()`` or the first read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: subprocess.Popen[str] | None = None
        self._ready = False
        self._directory: Path | None = None

    @property
    def pid(self) -> int | None:
        """The fork server's process id (None before it is launched or after ``stop``)."""
        server = self._server
        return None if server is None else server.pid

    def start(self) -> None:
        """Launch the fork server without waiting for it (it imports drivers meanwhile)."""
        with self._lock:
            self._launch()

    def _launch(self) -> None:
        if self._server is not None and self._server.poll() is None:
            return
        self._cleanup()
        self._directory = Path(tempfile.mkdtemp(prefix="flowservice-reads-"))  # mode 0700
        path = self._directory / SOCKET_NAME
        # the children need no settings: keys and passwords stay out of their environment
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
        # a forking process must have one thread: no allocator or OpenMP threads from Arrow
        env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
        env["JE_ARROW_MALLOC_CONF"] = "background_thread:false"
        env["_RJEM_MALLOC_CONF"] = "background_thread:false"  # deltalake's, should it load
        env["OMP_NUM_THREADS"] = "1"
        command = [sys.executable, "-m", "flowservice.flows.source_process.fork_server"]
        self._server = subprocess.Popen(
            [*command, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._ready = False

    def _wait_ready(self) -> Path:
        """The server's socket path, once it listens (launched again if it died)."""
        with self._lock:
            self._launch()
            assert self._server is not None and self._directory is not None
            path = self._directory / SOCKET_NAME
            if self._ready:
                return path
            assert self._server.stdout is not None
            line = _read_line(self._server.stdout, START_TIMEOUT_SECONDS)
            if line.strip() != READY:
                code = self._server.poll()
                self._cleanup()
                raise SourceSystemError(f"the source read server did not start (exit code {code})")
            self._ready = True
            return path

    def stop(self) -> None:
        with self._lock:
            self._cleanup()

    def _cleanup(self) -> None:
        server, self._server, self._ready = self._server, None, False
        if server is not None:
            if server.stdin is not None:
                with contextlib.suppress(OSError):
                    server.stdin.close()  # the server's signal to leave
            try:
                server.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            if server.stdout is not None:
                server.stdout.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _connect(self) -> socket.socket:
        """A connection to the fork server; a server found dead is replaced once."""
        for _ in range(2):
            path = self._wait_ready()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
            try:
                sock.connect(str(path))
                return sock
            except OSError:
                sock.close()
                with self._lock:
                    self._cleanup()  # the next attempt (or read) starts a new server
        raise SourceSystemError("the source read server is not answering")

    def read(
        self,
        connector: Connector,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
        parts: int = 1,
    ) -> Iterator[pa.RecordBatch]:
        """``connector.read(...)``'s batches, read by forked children: one per key range when
        ``parts`` > 1 and the connector can split the table, else one."""
        ranges = (
            [None]
            if parts < 2
            else connector.split(table, parts=parts, window=window, min_rows=batch_rows)
        )
        requests = [
            ReadRequest(connector, table, columns, window, batch_rows, key_range)
            for key_range in ranges
        ]
        yield from self._serve(requests)

    def read_changes(
        self,
        connector: Connector,
        table: str,
        *,
        since_version: int,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        """``connector.read_changes(...)``'s batches, read by one forked child."""
        request = ReadRequest(connector, table, columns, None, batch_rows, None, since_version)
        yield from self._serve([request])

    def _serve(self, requests: list[ReadRequest]) -> Iterator[pa.RecordBatch]:
        children: list[ChildRead] = []
        try:
            for request in requests:
                children.append(ChildRead(self._connect(), request))
        except BaseException:
            for child in children:
                child.close()
            raise
        yield from merged(children)


class ProcessSource:
    """A connector whose ``read`` runs in children of ``processes``, ``parts`` side by side."""

    def __init__(self, connector: Connector, processes: SourceProcesses, *, parts: int = 1) -> None:
        self.connector = connector
        self._processes = processes
        self._parts = parts

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        return self._processes.read(
            self.connector,
            table,
            columns=columns,
            window=window,
            batch_rows=batch_rows,
            parts=self._parts,
        )

    def change_tracking(self, table: str) -> ChangeTrackingState:
        """One small query: asked in this process, not in a child."""
        return self.connector.change_tracking(table)

    def read_changes(
        self,
        table: str,
        *,
        since_version: int,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]:
        return self._processes.read_changes(
            self.connector,
            table,
            since_version=since_version,
            columns=columns,
            batch_rows=batch_rows,
        )


def _read_line(stream: IO[str], timeout: float) -> str:
    """One line of ``stream``, or "" after ``timeout`` seconds."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0] if line else ""
