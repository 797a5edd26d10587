"""SMP (MS-SMP), the session multiplexing under MARS: many TDS streams over one socket.

Every frame has a 16-byte header (SMID 0x53, flags SYN/ACK/FIN/DATA, session id,
length, sequence number, window).  Each side may send DATA only up to the window the
other side granted: replies beyond it wait in memory until the client's ACKs arrive,
while requests of its other sessions are served.

One thread (``pump``) reads every frame as it comes, so ACKs and attentions are seen
while a request runs; the connection's thread takes whole requests and answers them,
one at a time.  ``changed`` guards the state of both.
"""

from __future__ import annotations

import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from mssql_emulator.tds.packets import HEADER_SIZE, STATUS_EOM, ProtocolError, Transport

SMP_HEADER = struct.Struct("<BBHIII")
SMP_ID = 0x53
SYN = 0x01
ACK = 0x02
FIN = 0x04
DATA = 0x08
# How many DATA frames a client may send ahead of the server's reading.
RECEIVE_WINDOW = 16
MAX_SESSIONS = 64
MAX_BUFFERED = 64 * 1024 * 1024
ATTENTION = 0x06


@dataclass
class _State:
    inbox: bytearray = field(default_factory=bytearray)
    sent: int = 0  # sequence number of the last DATA frame sent
    peer_window: int = 4  # the client may receive up to this sequence number
    received: int = 0  # sequence number of the last DATA frame received
    granted: int = RECEIVE_WINDOW  # the window advertised to the client
    closed: bool = False
    pending: deque[bytes] = field(default_factory=deque)  # packets beyond the window


class SmpMux:
    """Reads frames off one transport and keeps each session's TDS bytes apart."""

    def __init__(self, transport: Transport, first: bytes = b"") -> None:
        self.transport = transport
        self._buffer = bytearray(first)
        self.sessions: dict[int, _State] = {}
        self.opened: list[int] = []
        self.finished: list[int] = []
        self.changed = threading.Condition()
        self.eof = False
        self.error: ProtocolError | None = None
        self.on_attention: Callable[[int], None] | None = None

    # --- reading (the pump thread, or a test calling read_frame) ------------------------

    def pump(self) -> None:
        """Read frames until the peer closes or breaks the protocol."""
        try:
            while self.read_frame():
                pass
        except ProtocolError as exc:
            self.error = exc
        except OSError:
            pass
        with self.changed:
            self.eof = True
            self.changed.notify_all()

    def _read_exact(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            chunk = self.transport.recv(max(65536, size - len(self._buffer)))
            if not chunk:
                return None
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_frame(self) -> bool:
        """Handle one incoming frame; False when the peer closed the connection."""
        header = self._read_exact(SMP_HEADER.size)
        if header is None:
            return False
        smid, flags, sid, length, seq, window = SMP_HEADER.unpack(header)
        if smid != SMP_ID or length < SMP_HEADER.size:
            raise ProtocolError("bad SMP header")
        body = self._read_exact(length - SMP_HEADER.size)
        if body is None:
            raise ProtocolError("connection closed inside an SMP frame")
        with self.changed:
            attention = self._handle(flags, sid, seq, window, body)
            self.changed.notify_all()
        if attention and self.on_attention is not None:
            self.on_attention(sid)
        return True

    def _handle(self, flags: int, sid: int, seq: int, window: int, body: bytes) -> bool:
        """Apply one frame; True when it brought an attention to the front of an inbox."""
        if flags & SYN:
            if sid not in self.sessions and len(self.sessions) >= MAX_SESSIONS:
                raise ProtocolError("too many SMP sessions")
            opened = _State(peer_window=window)
            self.sessions[sid] = opened
            self.opened.append(sid)
            # A client assumes a window of 4 until told otherwise: tell it at once.
            self.transport.sendall(self._frame(ACK, sid, opened, 0))
            return False
        state = self.sessions.get(sid)
        if state is None:
            raise ProtocolError(f"SMP frame for unknown session {sid}")
        if window > state.peer_window:
            state.peer_window = window
            self._flush(sid, state)
        if flags & DATA:
            if len(state.inbox) + len(body) > MAX_BUFFERED:
                raise ProtocolError("SMP session buffer overflow")
            state.received = seq
            state.inbox += body
            # Requests are buffered whole (bounded above), so the window can widen at once.
            self._acknowledge(sid, state)
            return state.inbox[:1] == bytes([ATTENTION])
        if flags & FIN:
            state.closed = True
            self.finished.append(sid)
        return False

    # --- writing (under ``changed``) ------------------------------------------------------

    def _frame(self, flags: int, sid: int, state: _State, seq: int, body: bytes = b"") -> bytes:
        return SMP_HEADER.pack(SMP_ID, flags, sid, SMP_HEADER.size + len(body), seq, state.granted)

    def _acknowledge(self, sid: int, state: _State) -> None:
        """Widen the client's window once it has used half of it."""
        if state.granted - state.received <= RECEIVE_WINDOW // 2:
            state.granted = state.received + RECEIVE_WINDOW
            self.transport.sendall(self._frame(ACK, sid, state, state.sent))

    def send(self, sid: int, data: bytes | bytearray | memoryview) -> None:
        """Queue TDS packets as DATA frames (one packet each) and send what the window allows.

        Frames beyond the client's window wait in memory until its ACKs arrive, so a result
        the client has not read yet never stops the requests of its other sessions.
        """
        view = memoryview(data)
        with self.changed:
            state = self.sessions.get(sid)
            if state is None:
                return  # the client closed the session meanwhile
            while view:
                if len(view) < HEADER_SIZE:
                    raise ProtocolError("partial TDS packet handed to SMP")
                size = int.from_bytes(view[2:4], "big")
                state.pending.append(bytes(view[:size]))
                view = view[size:]
            self._flush(sid, state)

    def _flush(self, sid: int, state: _State) -> None:
        frames: list[bytes] = []
        while state.pending and state.sent + 1 <= state.peer_window:
            packet = state.pending.popleft()
            state.sent += 1
            frames.append(self._frame(DATA, sid, state, state.sent, packet))
            frames.append(packet)
        if frames:
            self.transport.sendall(b"".join(frames))

    def close_session(self, sid: int) -> None:
        with self.changed:
            state = self.sessions.pop(sid, None)
            if state is not None:
                self.transport.sendall(self._frame(FIN, sid, state, state.sent))

    # --- requests (the connection's thread) ---------------------------------------------

    def take_message(self, sid: int) -> tuple[int, bytes] | None:
        """The session's next whole TDS message (type, payload), if it has fully arrived."""
        with self.changed:
            state = self.sessions.get(sid)
            if state is None:
                return None
            inbox = state.inbox
            pos = 0
            parts: list[bytes] = []
            while pos + HEADER_SIZE <= len(inbox):
                size = int.from_bytes(inbox[pos + 2 : pos + 4], "big")
                if size < HEADER_SIZE:
                    raise ProtocolError("bad packet length")
                if pos + size > len(inbox):
                    return None
                parts.append(bytes(inbox[pos + HEADER_SIZE : pos + size]))
                if inbox[pos + 1] & STATUS_EOM:
                    message_type = inbox[0]
                    del inbox[: pos + size]
                    return message_type, b"".join(parts)
                pos += size
            return None

    def wait_message(self, sid: int) -> tuple[int, bytes] | None:
        """Block until the session's next message is whole; None once the peer is gone."""
        with self.changed:
            while True:
                message = self.take_message(sid)
                if message is not None or self.eof:
                    return message
                self.changed.wait()

    def attention_waiting(self, sid: int) -> bool:
        with self.changed:
            state = self.sessions.get(sid)
            return bool(state and state.inbox[:1] == bytes([ATTENTION]))


class SmpSessionTransport:
    """One SMP session as the transport of a MessageWriter (requests come from the mux)."""

    def __init__(self, mux: SmpMux, sid: int) -> None:
        self.mux = mux
        self.sid = sid

    def recv(self, size: int) -> bytes:
        raise ProtocolError("SMP sessions are read through SmpMux.take_message")

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        self.mux.send(self.sid, data)
