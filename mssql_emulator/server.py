"""The TCP server: one thread per connection, PRELOGIN/TLS/LOGIN7, then requests until EOF."""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mssql_emulator.contract import Engine, Session, SqlError
from mssql_emulator.tds import tokens
from mssql_emulator.tds.dispatch import RequestHandler
from mssql_emulator.tds.login import (
    login_failed,
    login_reply,
    parse_login7,
    pre_tds7_login_refused,
)
from mssql_emulator.tds.packets import (
    DEFAULT_PACKET_SIZE,
    MessageReader,
    MessageWriter,
    PacketType,
    ProtocolError,
    SocketTransport,
    Transport,
)
from mssql_emulator.tds.prelogin import (
    EncryptionMode,
    build_prelogin_reply,
    negotiate,
    parse_prelogin,
)
from mssql_emulator.tds.responses import Cancelled
from mssql_emulator.tds.smp import SmpMux, SmpSessionTransport
from mssql_emulator.tds.tls import TlsConfig, handshake, self_signed
from mssql_emulator.tds.tokens import DoneStatus

log = logging.getLogger("mssql_emulator")


@dataclass
class ServerConfig:
    users: dict[str, str]
    database: str
    host: str = "127.0.0.1"
    port: int = 0
    tls: TlsConfig | None = None
    packet_size: int = DEFAULT_PACKET_SIZE
    instance: str = "MSSQLSERVER"
    extra: dict[str, str] = field(default_factory=dict)


class AttentionWatcher:
    """One thread watching the sockets of running requests; readable means attention."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tds-attention", daemon=True)
        self._thread.start()

    def watch(self, sock: socket.socket, callback: Callable[[], None]) -> None:
        with self._lock:
            self._selector.register(sock, selectors.EVENT_READ, callback)

    def unwatch(self, sock: socket.socket) -> None:
        with self._lock, contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._selector.get_map():
                self._stop.wait(0.02)
                continue
            try:
                events = self._selector.select(0.05)
            except (OSError, ValueError):
                continue
            for key, _mask in events:
                with self._lock:
                    try:
                        self._selector.unregister(key.fileobj)
                    except (KeyError, ValueError):
                        continue
                callback: Callable[[], None] = key.data
                callback()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._selector.close()


class EmulatorServer:
    """Listens on host:port and serves every connection in its own thread."""

    def __init__(self, config: ServerConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self._ssl_context: ssl.SSLContext | None = config.tls.context() if config.tls else None
        self._fallback_tls: ssl.SSLContext | None = None
        self._listener = socket.create_server((config.host, config.port), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._spids = itertools.count(51)
        self._connections: dict[socket.socket, tuple[Connection, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher = AttentionWatcher()
        self._thread = threading.Thread(target=self._accept_loop, name="tds-accept", daemon=True)

    def fallback_tls_context(self) -> ssl.SSLContext:
        """A self-signed certificate for clients that insist on TLS when none is configured."""
        with self._lock:
            if self._fallback_tls is None:
                self._fallback_tls = self_signed().context()
            return self._fallback_tls

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                sock, _addr = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            spid = next(self._spids) & 0xFFFF
            connection = Connection(self, sock, spid)
            thread = threading.Thread(
                target=self._serve, args=(connection,), name=f"tds-{spid}", daemon=True
            )
            with self._lock:
                self._connections[sock] = (connection, thread)
            thread.start()

    def _serve(self, connection: Connection) -> None:
        sock, spid = connection.sock, connection.spid
        try:
            connection.run()
        except (ProtocolError, OSError, ssl.SSLError) as exc:
            log.debug("connection %s closed: %s", spid, exc)
        except Exception:  # a bug must never take the server down
            log.exception("connection %s failed", spid)
        finally:
            connection.close()
            with self._lock:
                self._connections.pop(sock, None)

    def stop(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            running = list(self._connections.items())
        for sock, (connection, _thread) in running:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            connection.interrupt()
        # Sessions close in their own threads; wait so the engine can be closed after us.
        deadline = time.monotonic() + 10
        for _sock, (_connection, thread) in running:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        self._watcher.close()


class Connection:
    """One client: the login sequence, then requests until the client goes away."""

    def __init__(self, server: EmulatorServer, sock: socket.socket, spid: int) -> None:
        self.server = server
        self.sock = sock
        self.spid = spid
        self.transport: Transport = SocketTransport(sock)
        self.reader = MessageReader(self.transport)
        self.writer = MessageWriter(self.transport, DEFAULT_PACKET_SIZE, spid)
        self.session: Session | None = None
        self.mars = False
        self._attention = threading.Event()

    def interrupt(self) -> None:
        """Stop a running statement (server shutdown); safe from another thread."""
        session = self.session
        if session is not None:
            with contextlib.suppress(Exception):
                session.cancel()

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:
                log.exception("closing session %s failed", self.spid)
            self.session = None
        with contextlib.suppress(OSError):
            self.sock.close()

    def _use(self, transport: Transport) -> None:
        self.transport = transport
        self.reader = MessageReader(transport)
        self.writer.transport = transport

    def _read(self) -> tuple[int, bytes] | None:
        return self.reader.read_message()

    def run(self) -> None:
        first = self._read()
        if first is None:
            return
        ptype, payload = first
        if ptype == PacketType.LOGIN7:
            # TDS 7.0 clients log in without PRELOGIN (and so without TLS).
            if self._login(ptype, payload):
                self._serve_requests()
            return
        if ptype == PacketType.LOGIN_PRE_TDS7:
            self.writer.send_message(PacketType.REPLY, pre_tds7_login_refused())
            return
        if ptype != PacketType.PRELOGIN:
            raise ProtocolError("expected PRELOGIN")
        request = parse_prelogin(payload)
        ctx = self.server._ssl_context
        encryption, mode = negotiate(request.encryption, tls_available=ctx is not None)
        self.mars = request.mars
        self.writer.send_message(
            PacketType.REPLY, build_prelogin_reply(encryption, mars=request.mars)
        )
        plain = self.transport
        if mode != EncryptionMode.NONE:
            assert ctx is not None
            self._use(handshake(self.sock, self.reader, self.writer, ctx))
        login_message = self._read()
        if login_message is None:
            return
        if mode == EncryptionMode.NONE and login_message[0] == PacketType.PRELOGIN:
            # tiberius reads our NOT_SUP against its OFF as "encrypt everything" and starts
            # TLS anyway; SQL Server always has a certificate, so follow with a made-up one.
            fallback = self.server.fallback_tls_context()
            self._use(
                handshake(self.sock, self.reader, self.writer, fallback, first=login_message[1])
            )
            login_message = self._read()
            if login_message is None:
                return
        if mode == EncryptionMode.LOGIN_ONLY:
            # Only LOGIN7 travels inside TLS; both sides go back to plain TCP (no shutdown).
            self._use(plain)
        if not self._login(*login_message):
            return
        self._serve_requests()

    def _login(self, ptype: int, payload: bytes) -> bool:
        if ptype != PacketType.LOGIN7:
            raise ProtocolError("expected LOGIN7")
        login = parse_login7(payload)
        config = self.server.config
        expected = config.users.get(login.user)
        if expected is None or expected != login.password:
            self.writer.send_message(
                PacketType.REPLY,
                login_failed(18456, f"Login failed for user '{login.user}'.", severity=14),
            )
            return False
        database = login.database or config.database
        if not self.server.engine.has_database(database):
            text = f'Cannot open database "{database}" requested by the login. The login failed.'
            # SQL Server follows 4060 with 18456; pytds retries a login until it sees 18456.
            reply = tokens.message(4060, text, severity=11) + login_failed(
                18456, f"Login failed for user '{login.user}'.", severity=14
            )
            self.writer.send_message(PacketType.REPLY, reply)
            return False
        try:
            self.session = self.server.engine.open_session(database, login.user)
        except SqlError as exc:
            self.writer.send_message(
                PacketType.REPLY, login_failed(exc.number, exc.message, severity=14)
            )
            return False
        # The client's size wins when it asks for one (0 means "the server's default").
        size = login.packet_size if 512 <= login.packet_size <= 32767 else config.packet_size
        self.writer.packet_size = size
        self.writer.send_message(
            PacketType.REPLY,
            login_reply(
                self.session.database,
                size,
                feature_ext=login.has_extension,
                tds_version=login.tds_version,
            ),
        )
        return True

    def _on_attention(self) -> None:
        self._attention.set()
        if self.session is not None:
            self.session.cancel()

    def _actions(self, handler: RequestHandler) -> dict[int, Callable[[bytes], None]]:
        return {
            PacketType.SQL_BATCH: handler.sql_batch,
            PacketType.RPC: handler.rpc,
            PacketType.TRANSACTION: handler.transaction,
            PacketType.BULK_LOAD: handler.bulk_load,
        }

    def _serve_requests(self) -> None:
        assert self.session is not None
        if self.mars:
            self._serve_smp()
            return
        actions = self._actions(RequestHandler(self.session, self.writer, self._attention.is_set))
        watcher = self.server._watcher
        while True:
            message = self._read()
            if message is None:
                return
            ptype, payload = message
            if ptype != PacketType.ATTENTION:
                self._attention.clear()
                watcher.watch(self.sock, self._on_attention)
                if self.reader.has_buffered():
                    # The attention came in the same read as the request: it is already here.
                    self._on_attention()
            try:
                cancelled = self._answer(actions, self.writer, ptype, payload)
            finally:
                # Before the reply's last packet: the client's next request is no attention.
                watcher.unwatch(self.sock)
            if cancelled:
                self._acknowledge_attention(self._read(), self.writer)
            else:
                self.writer.finish()

    def _serve_smp(self) -> None:
        """MARS: requests of every SMP session, one at a time, in the order they complete."""
        session = self.session
        assert session is not None
        mux = SmpMux(self.transport, self.reader.take_buffered())
        running: list[int] = []  # the SMP session whose request runs now, if any

        def attention(sid: int) -> None:
            if sid in running:
                session.cancel()

        mux.on_attention = attention
        threading.Thread(target=mux.pump, name=f"tds-smp-{self.spid}", daemon=True).start()
        sessions: dict[int, tuple[MessageWriter, dict[int, Callable[[bytes], None]]]] = {}
        while True:
            with mux.changed:
                while True:
                    for sid in mux.opened:
                        transport = SmpSessionTransport(mux, sid)
                        writer = MessageWriter(transport, self.writer.packet_size, self.spid)
                        waiting = functools.partial(mux.attention_waiting, sid)
                        handler = RequestHandler(session, writer, waiting)
                        sessions[sid] = (writer, self._actions(handler))
                    mux.opened.clear()
                    for sid in mux.finished:
                        sessions.pop(sid, None)
                        mux.close_session(sid)
                    mux.finished.clear()
                    ready = next(
                        ((sid, m) for sid in sessions if (m := mux.take_message(sid))), None
                    )
                    if ready is not None or mux.eof:
                        break
                    mux.changed.wait()
            if ready is None:
                if mux.error is not None:
                    raise mux.error
                return
            sid, (ptype, payload) = ready
            writer, actions = sessions[sid]
            running.append(sid)
            try:
                cancelled = self._answer(actions, writer, ptype, payload)
            finally:
                running.clear()
            if not cancelled:
                writer.finish()
                continue
            self._acknowledge_attention(mux.wait_message(sid), writer)

    def _answer(
        self,
        actions: dict[int, Callable[[bytes], None]],
        writer: MessageWriter,
        ptype: int,
        payload: bytes,
    ) -> bool:
        """Write the reply to one request but its last packet (the caller finishes it).

        True when the client cancelled the request: its ATTENTION follows.
        """
        writer.start(PacketType.REPLY)
        if ptype == PacketType.ATTENTION:
            # The request already finished; acknowledge so the client stops waiting.
            self._attention.clear()
            writer.write(tokens.done(DoneStatus.ATTN))
            return False
        action = actions.get(ptype)
        if action is None:
            raise ProtocolError(f"unsupported packet type 0x{ptype:02x}")
        try:
            action(payload)
        except Cancelled:
            return True
        except (ProtocolError, OSError, ssl.SSLError):
            raise
        except Exception as exc:  # an engine or encoder bug answers as an error
            log.exception("request failed on session %s", self.spid)
            number = exc.number if isinstance(exc, SqlError) else 50000
            writer.write(tokens.message(number, f"Internal emulator error: {exc}", severity=16))
            writer.write(tokens.done(DoneStatus.ERROR))
        return False

    def _acknowledge_attention(
        self, message: tuple[int, bytes] | None, writer: MessageWriter
    ) -> None:
        if message is None or message[0] != PacketType.ATTENTION:
            raise ProtocolError("expected ATTENTION")
        self._attention.clear()
        writer.write(tokens.done(DoneStatus.ATTN))
        writer.finish()
