"""``AsyncClient``: the same calls, awaited, against the same live server."""

from __future__ import annotations

import asyncio

import pytest
from fault_proxy import FaultProxy
from service_harness import ApiClient, sql_server_connection_body

from flowservice.client import AsyncClient, Connection, NotFound, RetryPolicy

FAST = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)


def async_client_for(api: ApiClient, base_url: str) -> AsyncClient:
    return AsyncClient(base_url, api.token, api.client_id, api.org_id, api.sandbox, retry=FAST)


def test_async_list_pages_and_get(api: ApiClient, proxy: FaultProxy) -> None:
    async def scenario() -> None:
        async with async_client_for(api, proxy.base_url) as client:
            made = [
                (await client.connections.create(sql_server_connection_body(name=f"a{i}"))).id
                for i in range(5)
            ]
            proxy.reset()
            listed = [c async for c in client.connections.list(page_size=2)]
            assert sorted(c.id for c in listed) == sorted(made)
            assert len([s for s in proxy.seen if s.method == "GET"]) == 3
            got = await client.connections.get(made[0])
            assert isinstance(got, Connection) and got.name == "a0"
            assert got.auth is not None and "Password=****" in got.auth.params["connectionString"]
            dataset = await client.datasets.create({"name": "async"})
            assert [d.id async for d in client.datasets.list()] == [dataset.id]
            assert (await client.datasets.get(dataset.id)).name == "async"

    asyncio.run(scenario())


def test_async_retries_a_get_and_maps_errors(api: ApiClient, proxy: FaultProxy) -> None:
    async def scenario() -> None:
        async with async_client_for(api, proxy.base_url) as client:
            proxy.fail_next(2)
            assert [f async for f in client.flows.list()] == []
            assert [s.answered for s in proxy.seen] == [503, 503, 200]
            with pytest.raises(NotFound) as caught:
                await client.runs.get("nope")
            assert caught.value.code == "FLOW-1101-404"

    asyncio.run(scenario())
