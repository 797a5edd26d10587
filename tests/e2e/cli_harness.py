"""Run the `flowservice` CLI against a live server: as a real process, or in-process
through typer's runner, with its profiles in a test's own config directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_harness import ApiClient
from typer.testing import CliRunner, Result

from flowservice.cli.main import app
from flowservice.cli.profiles import CONFIG_DIR_ENV, Profile, save_profile


def cli_env(config_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    env[CONFIG_DIR_ENV] = str(config_dir)
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_cli(
    *args: str, config_dir: Path, timeout: float = 120, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m flowservice ARGS`` as a child process (stdout a pipe, not a TTY)."""
    return subprocess.run(
        [sys.executable, "-m", "flowservice", *args],
        env=cli_env(config_dir, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
        check=False,
    )


def invoke(*args: str, stdin: str | None = None) -> Result:
    """The same CLI in this process (the config directory comes from the environment)."""
    return CliRunner().invoke(app, list(args), input=stdin)


def profile_of(api: ApiClient) -> Profile:
    return Profile(
        url=api.server.base_url,
        org=api.org_id,
        token=api.token,
        api_key=api.client_id,
        sandbox=api.sandbox,
    )


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    monkeypatch.delenv("FLOWSERVICE_PROFILE", raising=False)
    yield folder


@pytest.fixture
def logged_in(config_dir: Path, client: ApiClient) -> Path:
    """A current profile acting as ``client`` (the e2e conftest's org on ``server``)."""
    save_profile("default", profile_of(client))
    return config_dir
