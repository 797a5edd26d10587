"""Fixtures of the console tests: one real server per module, a Chromium page per test.

The browser is Debian's Chromium driven by Playwright (no browser download); every
request that leaves 127.0.0.1 is refused and fails the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from service_harness import ApiClient, RunningServer, make_settings, new_org_id, start_server

CHROMIUM = os.environ.get("FLOWSERVICE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home: Path = tmp_path_factory.mktemp("console-home")
    settings = make_settings(
        home,
        f"sqlite:///{home / 'flowservice.db'}",
        scheduler_interval_seconds=0.3,
        run_retry_attempts=1,  # a run against a closed port fails at once
    )
    running = start_server(settings)
    yield running
    running.stop()


@pytest.fixture
def org_api(console_server: RunningServer) -> Iterator[ApiClient]:
    """A write API client of a brand-new org (its first request registers the org)."""
    api = ApiClient(console_server, org_id=new_org_id(), client_id=f"c-{new_org_id()[:8]}")
    assert api.get("/flows").status_code == 200
    yield api
    api.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) whose requests may only go to 127.0.0.1."""
    context = browser.new_context()
    escaped: list[str] = []

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            escaped.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert not escaped, f"requests left localhost: {escaped}"
