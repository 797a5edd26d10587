"""Servers that misbehave on purpose, over real sockets.

``FaultProxy`` forwards every request to a live flowservice server, except the
next N, which it answers itself (503 with ``Retry-After: 0`` unless told
otherwise); it records what it saw. ``ClosingServer`` accepts connections and
closes them without a word, as a crashed gateway would.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx

# hop-by-hop headers and those the proxy recomputes
_DROPPED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    answered: int


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.seen: list[Seen] = []
        self._faults: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=upstream, timeout=30)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = "0") -> None:
        """Answer the next ``count`` requests with ``status`` instead of forwarding them."""
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        with self._lock:
            self._faults = [(status, headers)] * count

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self._faults.clear()

    def _next_fault(self) -> tuple[int, dict[str, str]] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._next_fault()
                if fault is not None:
                    status, extra = fault
                    # recorded before answering: the client may ask again at once
                    proxy._record(Seen(self.command, self.path, status))
                    payload = b'{"error_code": "503000", "message": "injected by the test proxy"}'
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _DROPPED]
                answer = proxy._http.request(self.command, self.path, headers=headers, content=body)
                proxy._record(Seen(self.command, self.path, answer.status_code))
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() not in _DROPPED:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _relay

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._http.close()


class ClosingServer:
    """Accepts TCP connections and closes each at once; ``accepted`` counts them."""

    def __init__(self) -> None:
        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def __enter__(self) -> ClosingServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
