"""The demo's two child processes: the SQL Server emulator and ``flowservice serve``."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from flowservice.errors import FlowServiceError

READY_PREFIX = "mssql_emulator ready on "


class DemoError(FlowServiceError):
    """The demo could not start one of its parts; the message says what to do."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env() -> dict[str, str]:
    """This environment without ``FLOWSERVICE_*``: the demo's home alone configures the service."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}


def issue_token(home: Path, *, org: str, client_id: str) -> dict[str, str]:
    """``flowservice auth token --json`` on ``home``: accessToken, apiKey, orgId, expiresAt."""
    argv = [sys.executable, "-m", "flowservice", "auth", "token", "--org", org]
    argv += ["--client-id", client_id, "--json", "--home", str(home)]
    done = subprocess.run(argv, capture_output=True, text=True, env=service_env(), timeout=120)
    if done.returncode != 0:
        raise DemoError(f"flowservice auth token failed: {done.stderr.strip()}")
    issued: dict[str, str] = json.loads(done.stdout)
    return issued


def emulator_installed() -> bool:
    # find_spec locates the package without importing it (the product never imports the emulator)
    return importlib.util.find_spec("mssql_emulator") is not None


@dataclass
class ChildProcess:
    """A child process with its log file; ``stop`` ends it with SIGTERM, then SIGKILL."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self.log.close()

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _spawn(name: str, argv: list[str], log_path: Path, env: dict[str, str]) -> ChildProcess:
    log = log_path.open("wb")
    # own session: a Ctrl-C in the terminal reaches only the demo, which stops its children in order
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    return ChildProcess(name, process, log_path, log)


def ensure_port_free(port: int, option: str) -> None:
    """``DemoError`` naming ``option`` when something already listens on ``port``."""
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise DemoError(
                f"port {port} on 127.0.0.1 is in use (another demo still running?); "
                f"pass {option} with another port, or 0 for any free one"
            )


def _wait_ready(child: ChildProcess, ready: Callable[[], bool], timeout: float) -> ChildProcess:
    """Return ``child`` once ``ready()``; stop it on failure, timeout or Ctrl-C."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.running():
                code = child.process.returncode
                raise DemoError(f"the {child.name} exited with {code}:\n{child.tail()}")
            if ready():
                return child
            time.sleep(0.1)
        waited = f"{timeout:.0f} s"
        raise DemoError(f"the {child.name} was not ready after {waited}; see {child.log_path}")
    except BaseException:
        child.stop()
        raise


def start_emulator(
    *, home: Path, port: int, user: str, password: str, database: str, init: Path, timeout: float
) -> ChildProcess:
    """``python -m mssql_emulator`` with ``init``; returns once it prints its ready line."""
    if not emulator_installed():
        raise DemoError(
            "the demo needs the SQL Server emulator (package mssql_emulator), which is not "
            "installed in this Python; install flowservice from its source tree "
            "(pip install -e .) to get it"
        )
    ensure_port_free(port, "--sql-port")
    argv = [sys.executable, "-m", "mssql_emulator", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--user", user, "--password", password, "--database", database, "--init", str(init)]
    child = _spawn("emulator", argv, home / "emulator.log", dict(os.environ))

    def ready() -> bool:
        return READY_PREFIX in child.log_path.read_text(encoding="utf-8", errors="replace")

    return _wait_ready(child, ready, timeout)


def start_service(
    *, home: Path, port: int, timeout: float, settings: dict[str, str] | None = None
) -> ChildProcess:
    """``flowservice serve`` on ``home``, plus ``FLOWSERVICE_*`` ``settings``; waits for /health."""
    ensure_port_free(port, "--port")
    argv = [sys.executable, "-m", "flowservice", "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--home", str(home)]
    child = _spawn("service", argv, home / "service.log", {**service_env(), **(settings or {})})
    health = f"http://127.0.0.1:{port}/health"

    def ready() -> bool:
        try:
            return httpx.get(health, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return _wait_ready(child, ready, timeout)
