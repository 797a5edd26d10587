"""SQL Server Browser (SSRP over UDP): tells clients the TCP port of ``host\\INSTANCE``."""

from __future__ import annotations

import socket
import struct
import threading

CLNT_BCAST_EX = 0x02
CLNT_UCAST_EX = 0x03
CLNT_UCAST_INST = 0x04
SVR_RESP = 0x05


def instance_record(host: str, instance: str, tcp_port: int) -> str:
    return (
        f"ServerName;{host};InstanceName;{instance};IsClustered;No;"
        f"Version;16.0.4000.0;tcp;{tcp_port};;"
    )


def ssrp_reply(request: bytes, host: str, instance: str, tcp_port: int) -> bytes | None:
    """The reply to one datagram, or None when it is not ours to answer."""
    if not request:
        return None
    kind = request[0]
    if kind == CLNT_UCAST_INST:
        asked = request[1:].split(b"\x00", 1)[0].decode("latin-1", "replace")
        if asked.upper() != instance.upper():
            return None
    elif kind not in (CLNT_BCAST_EX, CLNT_UCAST_EX):
        return None
    body = instance_record(host, instance, tcp_port).encode("ascii", "replace")
    return struct.pack("<BH", SVR_RESP, len(body)) + body


class BrowserService:
    """Answers SSRP requests on a UDP port until closed."""

    def __init__(self, host: str, port: int, instance: str, tcp_port: int) -> None:
        self.instance = instance
        self.tcp_port = tcp_port
        self.host_name = socket.gethostname().split(".")[0].upper()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ssrp", daemon=True)

    def start(self) -> BrowserService:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = ssrp_reply(data, self.host_name, self.instance, self.tcp_port)
            if reply is not None:
                try:
                    self._sock.sendto(reply, addr)
                except OSError:
                    continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
