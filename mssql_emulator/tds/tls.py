"""TLS 1.2 inside TDS: the handshake rides in PRELOGIN packets, then records go raw."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import tempfile
from dataclasses import dataclass

from mssql_emulator.tds.packets import (
    MessageReader,
    MessageWriter,
    PacketType,
    ProtocolError,
)


@dataclass(frozen=True)
class TlsConfig:
    cert_file: str
    key_file: str

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # TLS 1.3 breaks FreeTDS (session tickets) and stalls ODBC 18 inside TDS 7.x.
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.num_tickets = 0
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def self_signed(directory: str | None = None, host: str = "localhost") -> TlsConfig:
    """Write a fresh self-signed certificate and key (0600) and return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName(host),
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = directory or tempfile.mkdtemp(prefix="mssql_emulator_tls_")
    cert_path = os.path.join(folder, "cert.pem")
    key_path = os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return TlsConfig(cert_file=cert_path, key_file=key_path)


class TlsTransport:
    """TLS records straight over the socket, through memory BIOs."""

    def __init__(
        self,
        sock: socket.socket,
        obj: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self.sock = sock
        self.obj = obj
        self.incoming = incoming
        self.outgoing = outgoing

    def _flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.sock.sendall(pending)

    def recv(self, size: int) -> bytes:
        while True:
            try:
                return self.obj.read(size)
            except ssl.SSLWantReadError:
                self._flush()
                raw = self.sock.recv(65536)
                if not raw:
                    return b""
                self.incoming.write(raw)
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLError as exc:
                raise ProtocolError(f"TLS error: {exc.reason}") from exc

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = self.obj.write(view)
            view = view[written:]
            self._flush()


def handshake(
    sock: socket.socket,
    reader: MessageReader,
    writer: MessageWriter,
    ctx: ssl.SSLContext,
    *,
    first: bytes | None = None,
) -> TlsTransport:
    """Run the server side of the handshake, each flight wrapped in PRELOGIN packets.

    ``first`` is the client's first flight when the caller already read it.
    """
    incoming = ssl.MemoryBIO()
    outgoing = ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_side=True)
    while True:
        message = (PacketType.PRELOGIN, first) if first is not None else reader.read_message()
        first = None
        if message is None:
            raise ProtocolError("connection closed during the TLS handshake")
        ptype, payload = message
        if ptype != PacketType.PRELOGIN:
            raise ProtocolError("expected a TLS handshake packet")
        incoming.write(payload)
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        except ssl.SSLError as exc:
            raise ProtocolError(f"TLS handshake failed: {exc.reason}") from exc
        flight = outgoing.read()
        if flight:
            writer.send_message(PacketType.PRELOGIN, flight)
        if done:
            incoming.write(reader.take_buffered())
            return TlsTransport(sock, obj, incoming, outgoing)
