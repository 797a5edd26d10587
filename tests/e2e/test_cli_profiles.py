"""`flowservice login` and profiles (file mode 0600, tokens never printed), and the
newcomer frictions of `serve --help` and `sandboxes list|delete`, as real processes."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import cli_env, config_dir, invoke, profile_of, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_harness import TEST_TOKEN_SECRET, ApiClient, RunningServer, add_dev_sandbox

from flowservice.cli.profiles import (
    Profile,
    list_profiles,
    load_profile,
    profiles_path,
    save_profile,
)

__all__ = ["config_dir"]

pytestmark = pytest.mark.timeout(120)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_mints_a_token_from_the_home_and_later_commands_need_no_flags(
    server: RunningServer, home: Path, config_dir: Path
) -> None:
    org = "CLILOGIN@AdobeOrg"
    done = run_cli(
        "login", "--url", server.base_url, "--org", org, "--home", str(home),
        config_dir=config_dir, FLOWSERVICE_TOKEN_SECRET=TEST_TOKEN_SECRET,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = config_dir / "profiles.toml"
    assert path == profiles_path() and _mode(path) == 0o600
    assert _mode(config_dir) == 0o700
    saved = load_profile()
    assert saved.org == org and saved.sandbox == "prod" and saved.api_key == "flowservice-cli"
    assert saved.token not in done.stdout + done.stderr
    assert saved.token not in repr(saved)

    listed = run_cli("connections", "list", config_dir=config_dir)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["ID", "NAME", "SPEC", "STATE", "CREATED"]

    profiles = run_cli("profiles", "list", config_dir=config_dir)
    assert profiles.returncode == 0, profiles.stderr
    header, row = profiles.stdout.strip().splitlines()
    assert header.split() == ["NAME", "URL", "ORG", "SANDBOX"]
    assert row.split() == ["*", "default", server.base_url, org, "prod"]
    assert saved.token not in profiles.stdout


def test_login_with_a_token_another_profile_and_profile_selection(
    client: ApiClient, config_dir: Path
) -> None:
    add_dev_sandbox(client)
    save_profile("default", profile_of(client))
    done = run_cli(
        "login", "--url", client.server.base_url, "--org", client.org_id, "--sandbox", "dev",
        "--profile", "dev", "--api-key", client.client_id, config_dir=config_dir,
        FLOWSERVICE_TOKEN=client.token,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert client.token not in done.stdout + done.stderr
    assert _mode(profiles_path()) == 0o600
    assert load_profile().sandbox == "dev"  # the last login is the current profile
    assert load_profile("default").sandbox == "prod"
    listed = invoke("profiles", "list", "-o", "json")
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["dev"]["current"] and not rows["default"]["current"]
    assert all("token" not in r for r in rows.values())
    for flag in (["--profile", "default"], []):
        result = invoke("datasets", "list", "-o", "json", *flag)
        assert result.exit_code == 0 and result.stdout.strip() == "[]"


def test_login_refused_by_the_service_saves_nothing_and_prints_no_token(
    client: ApiClient, config_dir: Path
) -> None:
    forged = client.token[:-6] + "AAAAAA"
    done = run_cli(
        "login", "--url", client.server.base_url, "--org", client.org_id,
        "--token", forged, "--api-key", client.client_id, config_dir=config_dir,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: ")
    assert "refused" in done.stderr and forged not in done.stdout + done.stderr
    assert not profiles_path().exists()
    missing_key = invoke("login", "--url", "http://x", "--org", "O", "--token", "t")
    assert missing_key.exit_code == 2 and "--api-key" in missing_key.stderr
    nothing = invoke("flows", "list")
    assert nothing.exit_code == 2 and "flowservice login" in nothing.stderr


def test_serve_help_shows_defaults_and_plain_metavars(config_dir: Path) -> None:
    shown = run_cli("serve", "--help", config_dir=config_dir)
    assert shown.returncode == 0
    assert "127.0.0.1" in shown.stdout and "8080" in shown.stdout
    assert "TEXT" in shown.stdout and "INTEGER" in shown.stdout and "PATH" in shown.stdout
    assert "<bool>" not in shown.stdout and "<str>" not in shown.stdout
    # the installed console script goes through the same entry point as ``-m flowservice``
    script = Path(sys.executable).parent / "flowservice"
    installed = subprocess.run(
        [str(script), "serve", "--help"],
        env=cli_env(config_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert installed.returncode == 0 and installed.stdout == shown.stdout
    # arguments too: their type column reads TEXT, not <str>
    argument = run_cli("flows", "get", "--help", config_dir=config_dir)
    assert argument.returncode == 0 and "ID" in argument.stdout and "TEXT" in argument.stdout
    assert "<str>" not in argument.stdout


def test_sandboxes_list_has_a_header_and_delete_asks_first(
    server: RunningServer, home: Path, config_dir: Path
) -> None:
    org = "CLISANDBOX@AdobeOrg"
    base = ("--org", org, "--home", str(home))
    made = run_cli("sandboxes", "create", *base, "scratch", config_dir=config_dir)
    assert made.returncode == 0, made.stderr
    listed = run_cli("sandboxes", "list", *base, config_dir=config_dir)
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split("\t") == ["NAME", "TYPE", "TITLE"]
    assert {line.split("\t")[0] for line in lines[1:]} == {"prod", "scratch"}

    refused = run_cli("sandboxes", "delete", *base, "scratch", config_dir=config_dir)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    still = run_cli("sandboxes", "list", *base, config_dir=config_dir)
    assert "scratch" in still.stdout

    deleted = run_cli("sandboxes", "delete", *base, "scratch", "--yes", config_dir=config_dir)
    assert deleted.returncode == 0, deleted.stderr
    after = run_cli("sandboxes", "list", *base, config_dir=config_dir)
    assert "scratch" not in after.stdout


def _answer_at_a_terminal(args: list[str], answer: str, config_dir: Path) -> tuple[int, str]:
    """Run the CLI with stdin on a pseudo-terminal and type ``answer``."""
    controller, terminal = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "flowservice", *args],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=cli_env(config_dir),
            text=True,
        )
        os.write(controller, f"{answer}\n".encode())
        out, _ = child.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    return child.returncode, out


def test_sandboxes_delete_at_a_terminal_asks_and_respects_no(
    server: RunningServer, home: Path, config_dir: Path
) -> None:
    org = "CLIASK@AdobeOrg"
    base = ["--org", org, "--home", str(home)]
    assert run_cli("sandboxes", "create", *base, "tmp", config_dir=config_dir).returncode == 0
    code, out = _answer_at_a_terminal(["sandboxes", "delete", *base, "tmp"], "n", config_dir)
    assert code == 1 and "Delete sandbox 'tmp'" in out and "nothing deleted" in out
    assert "tmp" in run_cli("sandboxes", "list", *base, config_dir=config_dir).stdout
    code, out = _answer_at_a_terminal(["sandboxes", "delete", *base, "tmp"], "y", config_dir)
    assert code == 0, out
    assert "tmp" not in run_cli("sandboxes", "list", *base, config_dir=config_dir).stdout


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(min_size=1, max_size=20),
    fields=st.tuples(*(st.text(max_size=40) for _ in range(5))),
)
def test_any_profile_text_round_trips_through_the_file(
    config_dir: Path, name: str, fields: tuple[str, str, str, str, str]
) -> None:
    url, org, token, api_key, sandbox = fields
    profile = Profile(url=url, org=org, token=token, api_key=api_key, sandbox=sandbox)
    save_profile(name, profile)
    assert load_profile() == profile and load_profile(name) == profile
    current, found = list_profiles()
    assert current == name and found[name] == profile
    assert _mode(profiles_path()) == 0o600
