"""Fixtures of the e2e tests that start servers as processes of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_process import ServerProcess


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    """Servers a test starts; each is stopped when the test ends."""
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()
