"""Fixtures of the e2e tests: a server in a thread with its client, and servers as processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_process import ServerProcess
from service_harness import ApiClient, RunningServer, make_settings, new_org_id, start_server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """Settings of ``server`` beyond the shared ones; a module overrides this fixture."""
    return {}


@pytest.fixture
def server(home: Path, server_settings: dict[str, Any]) -> Iterator[RunningServer]:
    """A server with its scheduler, over SQLite in ``home``; shadows the root ``server``."""
    extra = {"scheduler_interval_seconds": 0.3, **server_settings}
    running = start_server(make_settings(home, f"sqlite:///{home / 'flowservice.db'}", **extra))
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningServer) -> Iterator[ApiClient]:
    """A write client of a brand-new org on ``server``."""
    api = ApiClient(server, org_id=new_org_id(), client_id="e2e-client")
    yield api
    api.close()


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    """Servers a test starts; each is stopped when the test ends."""
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()
