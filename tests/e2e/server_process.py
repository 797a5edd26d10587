"""A flowservice server in its own process (``python -m flowservice serve``), for crash tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import IO

import httpx
from service_harness import TEST_TOKEN_SECRET, ApiClient, make_settings

FAST = {
    "FLOWSERVICE_SCHEDULER_INTERVAL_SECONDS": "0.3",
    "FLOWSERVICE_SCHEDULER_LEASE_SECONDS": "3",
    "FLOWSERVICE_RUN_HEARTBEAT_SECONDS": "3",
    "FLOWSERVICE_RUN_RETRY_ATTEMPTS": "100",
    "FLOWSERVICE_RUN_RETRY_BASE_DELAY": "0.2",
    "FLOWSERVICE_LOG_LEVEL": "WARNING",
}


class ServerProcess:
    """``python -m flowservice serve`` in its own process (so it can be SIGKILLed)."""

    def __init__(
        self,
        home: Path,
        port: int,
        database_url: str | None = None,
        *,
        env_extra: dict[str, str] | None = None,
        log_file: Path | None = None,
    ) -> None:
        env = dict(os.environ)
        env.update(FAST)
        env.update(env_extra or {})
        env["FLOWSERVICE_TOKEN_SECRET"] = TEST_TOKEN_SECRET
        if database_url is not None:
            env["FLOWSERVICE_DATABASE_URL"] = database_url
        self.base_url = f"http://127.0.0.1:{port}"
        log: int | IO[bytes] = subprocess.DEVNULL if log_file is None else log_file.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flowservice",
                "serve",
                "--home",
                str(home),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        if not isinstance(log, int):
            log.close()  # the child has its own copy
        try:
            self._wait_until_healthy(deadline=time.monotonic() + 90)
        except BaseException:
            self.kill()  # never leave a half-started server behind a failed test
            raise

    def _wait_until_healthy(self, *, deadline: float) -> None:
        while True:
            assert self.process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def client_of(home: Path, base_url: str, org_id: str) -> ApiClient:
    """A write client of ``org_id`` for a server process (tokens signed with the test key)."""
    server = SimpleNamespace(settings=make_settings(home), base_url=base_url)
    return ApiClient(server, org_id=org_id, client_id="crash-client")  # type: ignore[arg-type]
