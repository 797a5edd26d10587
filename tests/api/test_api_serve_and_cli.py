"""The real `flowservice` command: serve as a subprocess, tokens, sandboxes, key rotation."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_harness import SQLSERVER_SPEC_ID, sql_server_connection_body

API = "http://127.0.0.1:{port}/data/foundation/flowservice"


def _cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    result = subprocess.run(
        [sys.executable, "-m", "flowservice", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """`flowservice serve` on a free port, stopped after the test."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowservice",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--home",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield tmp_path, port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout:
            proc.stdout.close()


def _headers(token: dict[str, str], sandbox: str = "prod") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token['accessToken']}",
        "x-api-key": token["apiKey"],
        "x-gw-ims-org-id": token["orgId"],
        "x-sandbox-name": sandbox,
        "Content-Type": "application/json",
    }


def test_serve_with_cli_tokens(served: tuple[Path, int]) -> None:
    home, port = served
    result = _cli(home, "auth", "token", "--org", "ACME@AdobeOrg")
    plain = result.stdout.strip()
    assert plain.count(".") == 2 and "\n" not in plain
    assert "x-api-key: flowservice-cli" in result.stderr
    token = json.loads(_cli(home, "auth", "token", "--org", "ACME@AdobeOrg", "--json").stdout)
    assert set(token) == {"accessToken", "apiKey", "orgId", "expiresAt"}
    assert token["orgId"] == "ACME@AdobeOrg" and token["expiresAt"] > time.time()
    base = API.format(port=port)
    spec = httpx.get(f"{base}/connectionSpecs/{SQLSERVER_SPEC_ID}", headers=_headers(token))
    assert spec.status_code == 200
    created = httpx.post(
        f"{base}/connections", headers=_headers(token), json=sql_server_connection_body()
    )
    assert created.status_code == 201

    reader = json.loads(
        _cli(
            home,
            "auth",
            "token",
            "--org",
            "ACME@AdobeOrg",
            "--scope",
            "read",
            "--json",
            "--client-id",
            "reader",
            "--ttl",
            "5m",
        ).stdout
    )
    assert reader["apiKey"] == "reader" and reader["expiresAt"] <= time.time() + 301
    assert httpx.get(f"{base}/connections", headers=_headers(reader)).status_code == 200
    denied = httpx.post(
        f"{base}/connections", headers=_headers(reader), json=sql_server_connection_body()
    )
    assert denied.status_code == 403

    assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200
    key_file = home / "token-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    assert (
        _cli(
            tmp_path, "auth", "token", "--org", "A@AdobeOrg", "--scope", "admin", check=False
        ).returncode
        != 0
    )
    bad_ttl = _cli(tmp_path, "auth", "token", "--org", "A@AdobeOrg", "--ttl", "-5", check=False)
    assert bad_ttl.returncode != 0 and "ttl" in bad_ttl.stderr


def test_invalid_settings_are_reported_clearly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    env["FLOWSERVICE_PORT"] = "not-a-port"
    result = subprocess.run(
        [sys.executable, "-m", "flowservice", "db", "upgrade", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "FLOWSERVICE_PORT" in result.stderr and "Traceback" not in result.stderr


def test_sandboxes_cli(tmp_path: Path) -> None:
    _cli(tmp_path, "sandboxes", "create", "--org", "ACME@AdobeOrg", "dev")
    listed = _cli(tmp_path, "sandboxes", "list", "--org", "ACME@AdobeOrg").stdout
    header, *rows = listed.splitlines()
    assert header.split("\t")[0] == "NAME"
    assert [line.split("\t")[0] for line in rows] == ["dev", "prod"]
    dup = _cli(tmp_path, "sandboxes", "create", "--org", "ACME@AdobeOrg", "dev", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    _cli(tmp_path, "sandboxes", "delete", "--org", "ACME@AdobeOrg", "dev", "--yes")
    listed = _cli(tmp_path, "sandboxes", "list", "--org", "ACME@AdobeOrg").stdout
    assert [line.split("\t")[0] for line in listed.splitlines()[1:]] == ["prod"]
    assert (
        _cli(
            tmp_path, "sandboxes", "delete", "--org", "ACME@AdobeOrg", "prod", "--yes", check=False
        ).returncode
        == 1
    )


def test_keys_rotate_while_serving(served: tuple[Path, int]) -> None:
    home, port = served
    token = json.loads(_cli(home, "auth", "token", "--org", "ACME@AdobeOrg", "--json").stdout)
    base = API.format(port=port)
    created = httpx.post(
        f"{base}/connections", headers=_headers(token), json=sql_server_connection_body()
    ).json()
    key_file = home / "secret.keys"
    old_keys = key_file.read_text().split()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    out = _cli(home, "keys", "rotate").stdout
    assert "re-encrypted 1" in out
    new_keys = key_file.read_text().split()
    assert len(new_keys) == 1 and new_keys[0] not in old_keys
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # the running server picks up the new key file: old rows read, new rows written
    got = httpx.get(f"{base}/connections/{created['id']}", headers=_headers(token))
    assert got.status_code == 200, got.text
    assert "Password=****" in got.text
    again = httpx.post(
        f"{base}/connections", headers=_headers(token), json=sql_server_connection_body()
    )
    assert again.status_code == 201
    assert (
        httpx.get(f"{base}/connections/{again.json()['id']}", headers=_headers(token)).status_code
        == 200
    )
    # and nothing in the DB file is the plain password
    for db_file in home.glob("flowservice.db*"):
        assert b"S3cret!pw" not in db_file.read_bytes(), db_file
