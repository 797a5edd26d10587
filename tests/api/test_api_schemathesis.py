"""schemathesis against the live service on SQLite: all its checks, a fixed budget and seed.

The service runs as ``python -m flowservice serve`` (tests/e2e/server_process.py),
schemathesis as its own CLI in a subprocess. The four headers of real tokens of
two orgs go in a Web Fuzzing Commons auth file: requests are sent as one, and
object_level_authorization reads what it created as the other. The checks
lifted from some operations are listed, with their reasons, in
``schemathesis_exclusions.toml`` beside this file; docs/openapi.md says how to
run the same thing by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e.server_process import ServerProcess
from service_harness import make_settings, new_org_id

from flowservice.auth.tokens import issue_token
from flowservice.demo.processes import free_port

EXCLUSIONS = Path(__file__).with_name("schemathesis_exclusions.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# the budget: examples per operation and phase, and the seed that makes a run repeatable
MAX_EXAMPLES = 15
SEED = 20251202
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)


def load_exclusions(document: dict[str, Any]) -> dict[str, Any]:
    """The exclusions file, checked: known checks, served operations, a reason for each."""
    loaded = tomllib.loads(EXCLUSIONS.read_text())
    assert set(loaded) <= {"generation", "exclusion"}, set(loaded)
    served = {
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    }
    for entry in [loaded.get("generation", {}), *loaded.get("exclusion", [])]:
        assert len(entry.get("reason", "").split()) >= 8, f"say why: {entry}"
    for entry in loaded.get("exclusion", []):
        assert set(entry) == {"check", "operations", "reason"}, entry
        assert entry["check"] in CHECKS, entry["check"]
        assert entry["operations"], entry
        for operation in entry["operations"]:
            assert operation == "*" or operation in served, f"{operation} is not served"
    return loaded


def schemathesis_config(exclusions: dict[str, Any]) -> str:
    """Every check on, then the exclusions off (everywhere or per operation): schemathesis.toml."""
    entries = exclusions.get("exclusion", [])
    everywhere = {e["check"] for e in entries if e["operations"] == ["*"]}
    lines = ["[cache]", "enabled = false", "", "[generation]"]
    for key, value in exclusions.get("generation", {}).items():
        if key != "reason":
            lines.append(f"{key} = {json.dumps(value)}")
    lines.append("")
    for check in CHECKS:
        lines += [f"[checks.{check}]", f"enabled = {json.dumps(check not in everywhere)}", ""]
    for entry in entries:
        if entry["operations"] != ["*"]:
            # an operation's name is its label, "METHOD /path"
            lines += [
                "[[operations]]",
                f"include-name = {json.dumps(entry['operations'])}",
                f"checks.{entry['check']}.enabled = false",
                "",
            ]
    return "\n".join(lines)


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "home", free_port())
    yield server
    server.stop()


def identity(home: Path, name: str) -> dict[str, Any]:
    """A WFC auth entry: the four headers of a write token of a new org of its own."""
    org = new_org_id()
    token = issue_token(
        make_settings(home), org_id=org, client_id=f"st-{name}", subject=f"{name}@AdobeID"
    ).access_token
    headers = {
        "Authorization": f"Bearer {token}",
        "x-api-key": f"st-{name}",
        "x-gw-ims-org-id": org,
        "x-sandbox-name": "prod",
    }
    return {"name": name, "fixedHeaders": [{"name": k, "value": v} for k, v in headers.items()]}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_failure(live_service: ServerProcess, tmp_path: Path) -> None:
    base_url = live_service.base_url
    document = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    # two orgs: requests go as "owner"; object_level_authorization reads its objects as the other
    identities = [identity(tmp_path / "home", name) for name in ("owner", "outsider")]
    auth = tmp_path / "identities.json"
    auth.write_text(json.dumps({"auth": identities}))
    config = tmp_path / "schemathesis.toml"
    peers = json.dumps([entry["name"] for entry in identities])
    wfc = f"[auth.wfc]\npath = {json.dumps(str(auth))}\npeers = {peers}\n\n"
    config.write_text(wfc + schemathesis_config(load_exclusions(document)))
    argv = [str(SCHEMATHESIS), "--config-file", str(config), "run", f"{base_url}/openapi.json"]
    # no --checks: on the command line it would override the exclusions of the config file
    argv += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)]
    argv += ["--generation-database", "none", "--workers", "1", "--no-color"]
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env, check=False
    )
    reproduce = f"\n{' '.join(argv)}\n\n{config.name}:\n{config.read_text()}"
    assert done.returncode == 0, done.stdout + done.stderr + reproduce
