"""Create's clean-up: a failing last step deletes what the submit made, or names it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from console_harness import create_account
from service_harness import SQLSERVER_SPEC_ID, ApiClient, RunningServer

from flowservice.api.runtime import Runtime
from flowservice.console.access import caller_of_token, scope_of
from flowservice.console.session_store import ConsoleSession
from flowservice.console.wizard_create import CreateFailed, create_dataflow
from flowservice.settings import CATALOG_PREFIX

COLUMNS = [{"name": "OrderID", "xdm_type": "integer", "xdm_format": None}]


@pytest.fixture
def runtime(console_server: RunningServer) -> Iterator[Runtime]:
    started = Runtime.start(console_server.settings)
    yield started
    started.close()


def _state(account: str, mappings: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "account": account,
        "table": "sales.Orders",
        "flow_name": "Broken",
        "dataset": {"mode": "new", "name": "orders", "description": ""},
        "mappings": mappings,
        "columns": COLUMNS,
        # a start time the flow handler refuses: the last step fails
        "schedule": {
            "frequency": "once",
            "interval": "",
            "start": 5,
            "backfill": False,
            "incremental": "full",
            "write_mode": "append",
        },
    }


@pytest.mark.parametrize("mappings", [[], [{"destination": "n", "expression": "OrderID + 1"}]])
def test_a_failed_create_deletes_what_it_made_and_names_the_mapping_set(
    org_api: ApiClient, runtime: Runtime, mappings: list[dict[str, str]]
) -> None:
    account = create_account(org_api)
    user = ConsoleSession(caller_of_token(runtime, org_api.token), "prod", "csrf", 0)
    with pytest.raises(CreateFailed) as failed:
        create_dataflow(
            runtime, user, scope_of(runtime, user), _state(account, mappings), SQLSERVER_SPEC_ID
        )
    assert "startTime" in failed.value.message
    assert len(failed.value.left) == len(mappings)
    assert all(left.startswith("mapping set ") for left in failed.value.left)
    assert org_api.request("GET", "/dataSets", prefix=CATALOG_PREFIX).json() == {}
    assert org_api.get("/sourceConnections").json()["items"] == []
    assert org_api.get("/targetConnections").json()["items"] == []
    assert org_api.get("/flows").json()["items"] == []
