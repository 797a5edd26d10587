"""Retries against real sockets: injected 429/50x, dropped connections, POST left alone."""

from __future__ import annotations

import logging
import time

import pytest
from fault_proxy import ClosingServer, FaultProxy
from service_harness import ApiClient, sql_server_connection_body

from flowservice.client import (
    NO_RETRIES,
    Client,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_get_is_retried_after_injected_failures(
    proxied: Client, proxy: FaultProxy, status: int
) -> None:
    made = proxied.connections.create(sql_server_connection_body()).id
    proxy.reset()
    proxy.fail_next(2, status=status)
    assert proxied.connections.get(made).id == made
    assert [seen.answered for seen in proxy.seen] == [status, status, 200]
    # every try is the same request: one path, one request id in the server's log
    assert len({seen.path for seen in proxy.seen}) == 1


def test_a_list_page_is_retried_in_the_middle_of_a_listing(
    proxied: Client, proxy: FaultProxy
) -> None:
    for i in range(3):
        proxied.connections.create(sql_server_connection_body(name=f"c{i}"))
    proxy.reset()
    pages = proxied.connections.list(page_size=2)
    first_page = [next(pages), next(pages)]
    proxy.fail_next(1)
    second_page = list(pages)
    assert len({c.id for c in first_page + second_page}) == 3
    assert [seen.answered for seen in proxy.seen] == [200, 503, 200]


def test_a_post_is_not_retried(proxied: Client, proxy: FaultProxy, api: ApiClient) -> None:
    proxy.fail_next(1)
    with pytest.raises(ServerError) as caught:
        proxied.connections.create(sql_server_connection_body())
    assert caught.value.status == 503
    assert [(seen.method, seen.answered) for seen in proxy.seen] == [("POST", 503)]
    assert api.get("/connections").json()["items"] == []


def test_a_post_the_caller_vouches_for_is_retried(proxied: Client, proxy: FaultProxy) -> None:
    proxy.fail_next(1)
    made = proxied.connections.create(sql_server_connection_body(), idempotent=True)
    assert [seen.answered for seen in proxy.seen] == [503, 201]
    assert [c.id for c in proxied.connections.list()] == [made.id]


def test_a_patch_is_not_retried(proxied: Client, proxy: FaultProxy) -> None:
    proxy.fail_next(1)
    with pytest.raises(ServerError):
        proxied.flows.patch("f1", [{"op": "replace", "path": "/name", "value": "x"}], etag="1")
    assert [(seen.method, seen.answered) for seen in proxy.seen] == [("PATCH", 503)]


def test_retries_stop_after_max_attempts(api: ApiClient, proxy: FaultProxy) -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)
    with Client(proxy.base_url, api.token, api.client_id, api.org_id, retry=policy) as client:
        proxy.fail_next(10, status=429, retry_after="0")
        with pytest.raises(RateLimited) as caught:
            client.connections.get("abc")
    assert len(proxy.seen) == 3
    assert caught.value.retry_after == 0
    assert caught.value.retryable


def test_retry_after_is_honoured(api: ApiClient, proxy: FaultProxy) -> None:
    policy = RetryPolicy(max_attempts=2, initial_delay=0, max_delay=0)
    with Client(proxy.base_url, api.token, api.client_id, api.org_id, retry=policy) as client:
        proxy.fail_next(1, retry_after="1")
        started = time.monotonic()
        assert list(client.flows.list()) == []
        assert time.monotonic() - started >= 0.95


def test_a_retry_after_beyond_the_time_budget_ends_the_retries(
    api: ApiClient, proxy: FaultProxy
) -> None:
    policy = RetryPolicy(max_attempts=5, total_timeout=1.0)
    with Client(proxy.base_url, api.token, api.client_id, api.org_id, retry=policy) as client:
        proxy.fail_next(1, retry_after="30")
        started = time.monotonic()
        with pytest.raises(ServerError):
            list(client.flows.list())
        assert time.monotonic() - started < 1.0
    assert len(proxy.seen) == 1


def test_no_retries_policy(api: ApiClient, proxy: FaultProxy) -> None:
    with Client(proxy.base_url, api.token, api.client_id, api.org_id, retry=NO_RETRIES) as client:
        proxy.fail_next(1)
        with pytest.raises(ServerError):
            client.flows.get("x")
    assert len(proxy.seen) == 1


def test_dropped_connections_are_retried_for_gets_only(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)
    with (
        ClosingServer() as closing,
        Client(closing.base_url, api.token, api.client_id, api.org_id, retry=policy) as client,
    ):
        with (
            caplog.at_level(logging.WARNING, logger="flowservice.client"),
            pytest.raises(TransportError) as caught,
        ):
            client.connections.get("abc")
        assert closing.accepted == 3
        with pytest.raises(TransportError):
            client.connections.create(sql_server_connection_body())
        assert closing.accepted == 4
    assert len(caplog.records) == 2  # one line per retry
    for text in [str(caught.value), repr(caught.value), caplog.text]:
        assert api.token not in text and "Bearer" not in text
