"""Helpers of the console tests: links from the real CLI, flows made through the API."""

from __future__ import annotations

import re
import time
from typing import Any

from service_harness import (
    FLOW_SPEC_ID,
    TEST_TOKEN_SECRET,
    ApiClient,
    RunningServer,
    create_dataset,
    created_id,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)
from typer.testing import CliRunner

from flowservice.cli.main import app

# a closed loopback port: a run of such a flow fails fast as a source failure
UNREACHABLE = (
    "Data Source=127.0.0.1,1;Initial Catalog=sales;Integrated Security=False;"
    "User ID=loader;Password=S3cret!pw;Encrypt=False;"
)


def console_link(
    server: RunningServer,
    org_id: str,
    *,
    read_only: bool = False,
    sandbox: str = "prod",
    ttl: str = "5m",
) -> str:
    """A one-time link printed by ``flowservice auth console-link`` against the server's home."""
    args = ["auth", "console-link", "--org", org_id, "--sandbox", sandbox, "--ttl", ttl]
    args += ["--url", server.base_url, "--home", str(server.settings.home)]
    if read_only:
        args.append("--read-only")
    env = {
        "FLOWSERVICE_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "FLOWSERVICE_DATABASE_URL": str(server.settings.database_url),
    }
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    match = re.search(r"http://\S+/console/link\?token=\S+", result.stdout)
    assert match, result.stdout
    return match.group(0)


def create_account(api: ApiClient, name: str = "Sales DB") -> str:
    body = sql_server_connection_body(UNREACHABLE)
    body["name"] = name
    return created_id(api.post("/connections", json=body))


def flow_body(name: str, source: str, target: str) -> dict[str, Any]:
    return {
        "name": name,
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [source],
        "targetConnectionIds": [target],
        "transformations": [],
        "scheduleParams": {
            "startTime": str(int(time.time()) + 86_400),
            "frequency": "minute",
            "interval": "15",
        },
    }


def create_flows(api: ApiClient, names: list[str]) -> list[str]:
    """Ids of flows sharing one source and one target connection."""
    base = create_account(api)
    source, target = _connections(api, names[0], base)
    return [created_id(api.post("/flows", json=flow_body(n, source, target))) for n in names]


def create_flow(api: ApiClient, name: str, *, account: str | None = None) -> tuple[str, str]:
    """(flow id, base connection id) of a new flow that runs against a closed port."""
    base = account or create_account(api)
    source, target = _connections(api, name, base)
    return created_id(api.post("/flows", json=flow_body(name, source, target))), base


def _connections(api: ApiClient, name: str, base: str) -> tuple[str, str]:
    dataset = create_dataset(api, f"{name} data")
    source = created_id(
        api.post(
            "/sourceConnections",
            json=source_connection_body(name=f"{name} source", base_id=base, table="sales.Orders"),
        )
    )
    target = created_id(
        api.post(
            "/targetConnections",
            json=target_connection_body(name=f"{name} target", dataset_id=dataset),
        )
    )
    return source, target
