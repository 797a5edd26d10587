"""The SDK tier's fixtures: the shared live server (``service_harness``) and SDK clients of
the per-test org that ``api`` provisions, plus a fault-injecting proxy in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_proxy import FaultProxy
from service_harness import ApiClient, RunningServer, runtime

from flowservice.client import Client, RetryPolicy

__all__ = ["runtime"]

# fast retries: the tests' servers answer Retry-After: 0 or nothing at all
FAST_RETRIES = RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=0.05, total_timeout=10)


def client_for(
    api: ApiClient, base_url: str | None = None, *, retry: RetryPolicy = FAST_RETRIES
) -> Client:
    """An SDK client acting as ``api``'s caller (same token, API key, org and sandbox)."""
    return Client(
        base_url or api.server.base_url,
        token=api.token,
        api_key=api.client_id,
        org=api.org_id,
        sandbox=api.sandbox,
        retry=retry,
    )


@pytest.fixture
def client(api: ApiClient) -> Iterator[Client]:
    with client_for(api) as sdk:
        yield sdk


@pytest.fixture
def proxy(server: RunningServer) -> Iterator[FaultProxy]:
    """A real HTTP reverse proxy to ``server`` that can answer errors instead of forwarding."""
    with FaultProxy(server.base_url) as running:
        yield running


@pytest.fixture
def proxied(api: ApiClient, proxy: FaultProxy) -> Iterator[Client]:
    """An SDK client that talks to the server through ``proxy``."""
    with client_for(api, proxy.base_url) as sdk:
        yield sdk
