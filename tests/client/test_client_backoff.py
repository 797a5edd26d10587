"""The retry decisions and error mapping, as pure functions (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
from hypothesis import given
from hypothesis import strategies as st

from flowservice.client import (
    BadRequest,
    Conflict,
    Flow,
    FlowServiceError,
    PreconditionFailed,
    RateLimited,
    RetryPolicy,
    Run,
    ServerError,
)
from flowservice.client.errors import error_from_response, retry_after_seconds
from flowservice.client.retry import RetryState, may_retry

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 20),
    initial_delay=st.floats(0, 10),
    max_delay=st.floats(0, 120),
    multiplier=st.floats(1, 10),
    total_timeout=st.floats(0, 600),
)
unit = st.floats(0, 1, exclude_max=True)


@given(policies, st.integers(1, 200), unit)
def test_backoff_stays_within_half_cap_and_cap(policy: RetryPolicy, retry: int, r: float) -> None:
    delay = policy.backoff(retry, lambda: r)
    cap = policy.cap(retry)
    assert cap / 2 <= delay <= cap <= policy.max_delay


@given(policies, st.integers(1, 200))
def test_caps_never_shrink(policy: RetryPolicy, retry: int) -> None:
    assert policy.cap(retry) <= policy.cap(retry + 1)


@given(
    policies,
    st.lists(st.tuples(st.floats(0, 5), st.none() | st.floats(0, 60), unit), max_size=30),
)
def test_retries_respect_attempts_and_total_time(
    policy: RetryPolicy, failures: list[tuple[float, float | None, float]]
) -> None:
    now = 0.0
    waited = 0.0
    rands = iter([r for *_, r in failures] + [0.0] * 40)
    state = RetryState(policy, retryable=True, started=0.0, rand=lambda: next(rands))
    for elapsed, retry_after, _ in failures:
        now += elapsed
        delay = state.after_status(503, retry_after, now)
        if delay is None:
            break
        if retry_after is not None:
            assert delay == retry_after
        now += delay
        waited += delay
        assert now <= policy.total_timeout
    assert state.attempts <= policy.max_attempts
    assert waited <= policy.total_timeout


@given(policies, st.sampled_from([429, 502, 503, 504]))
def test_what_is_not_retryable_is_never_retried(policy: RetryPolicy, status: int) -> None:
    state = RetryState(policy, retryable=may_retry("POST", None), started=0.0)
    assert state.after_status(status, 0.0, 0.0) is None
    assert state.after_transport_error(0.0) is None


@given(st.sampled_from([400, 401, 403, 404, 409, 412, 500]))
def test_other_statuses_are_the_answer(status: int) -> None:
    state = RetryState(RetryPolicy(), retryable=True, started=0.0)
    assert state.after_status(status, None, 0.0) is None


def test_methods() -> None:
    assert all(may_retry(m, None) for m in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "get"))
    assert not any(may_retry(m, None) for m in ("POST", "PATCH"))
    assert may_retry("POST", True) and not may_retry("GET", False)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("-1") == 0.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_seconds(later) or 0) <= 30


def _answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "http://h/data/foundation/flowservice/flows/x")
    return httpx.Response(status, json=body, headers=headers, request=request)


def problem(code: str, status: int, message: str) -> dict[str, object]:
    return {
        "type": f"https://ns.adobe.com/aep/errors/FLOW-{code}-{status}",
        "title": "t",
        "status": status,
        "report": {"detailed-message": message, "request-id": "rid-1"},
    }


@given(
    st.sampled_from(
        [
            (400, "1100", BadRequest),
            (400, "1418", Conflict),
            (400, "1416", Conflict),
            (412, "1404", PreconditionFailed),
            (429, "1100", RateLimited),
            (500, "1102", ServerError),
            (418, "1100", BadRequest),
        ]
    )
)
def test_problem_bodies_map_to_the_tree(case: tuple[int, str, type[FlowServiceError]]) -> None:
    status, code, cls = case
    error = error_from_response(_answer(status, problem(code, status, "why")), ())
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        f"FLOW-{code}-{status}",
        "why",
        "rid-1",
    )


@given(st.text(min_size=8, alphabet=st.characters(codec="ascii", categories=["L", "N"])))
def test_known_secrets_are_masked_in_messages(secret: str) -> None:
    body = problem("1100", 400, f"token {secret} and Password={secret}x;")
    error = error_from_response(_answer(400, body), [secret])
    assert secret not in str(error) + repr(error)


def test_a_body_that_is_not_json() -> None:
    request = httpx.Request("DELETE", "http://h/p/q")
    error = error_from_response(httpx.Response(502, text="<html>", request=request), ())
    assert type(error) is ServerError
    assert error.message == "DELETE /p/q answered 502" and error.code is None


def test_models_keep_fields_they_do_not_know() -> None:
    wire = {
        "id": "f1",
        "flowSpec": {"id": "s", "version": "1.0", "future": True},
        "sourceConnectionIds": ["a"],
        "brandNewField": {"x": 1},
    }
    flow = Flow.model_validate(wire)
    assert flow.source_connection_ids == ["a"] and flow.flow_spec is not None
    assert flow.model_extra == {"brandNewField": {"x": 1}}
    assert flow.to_wire() == wire
    run = Run.model_validate({"id": "r", "metrics": {"statusSummary": {"status": "failed"}}})
    assert (run.status, run.finished, run.succeeded) == ("failed", True, False)
    assert not Run.model_validate({"id": "r", "state": "inProgress"}).finished
