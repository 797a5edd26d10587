from __future__ import annotations

import random
import threading
import time

import pytest

from flowservice.errors import (
    InternalError,
    LakeError,
    SourceConfigError,
    SourceSystemError,
    TransientSourceError,
)
from flowservice.flows.cancellation import CancelEvent, RunCancelled, raise_if_cancelled
from flowservice.flows.retry import RetryPolicy, call_with_retry, is_retryable

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.04, multiplier=2.0)


class DeadlockError(TransientSourceError):
    """A subclass of the transient branch, as a connector would raise."""


class Flaky:
    """Fails with the given errors, then returns 'done'; records when it was called."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.calls: list[float] = []

    def __call__(self) -> str:
        self.calls.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_transient_errors_are_retried_with_growing_delays() -> None:
    fn = Flaky(
        [TransientSourceError("timeout"), DeadlockError("deadlock"), TransientSourceError("reset")]
    )
    retries: list[tuple[int, str, float]] = []
    result = call_with_retry(
        fn,
        FAST,
        rng=random.Random(7),
        on_retry=lambda n, e, d: retries.append((n, type(e).__name__, d)),
    )
    assert result == "done"
    assert len(fn.calls) == 4
    assert [(n, name) for n, name, _ in retries] == [
        (1, "TransientSourceError"),
        (2, "DeadlockError"),
        (3, "TransientSourceError"),
    ]
    for (n, _, delay), (before, after) in zip(
        retries, zip(fn.calls, fn.calls[1:], strict=False), strict=True
    ):
        cap = FAST.backoff(n)
        assert cap / 2 <= delay <= cap
        assert after - before >= delay * 0.9  # really slept


def test_attempts_are_bounded_and_the_last_error_raised() -> None:
    errors: list[Exception] = [TransientSourceError(f"timeout {i}") for i in range(10)]
    fn = Flaky(errors)
    with pytest.raises(TransientSourceError, match="timeout 3"):
        call_with_retry(fn, FAST, rng=random.Random(1))
    assert len(fn.calls) == FAST.max_attempts


@pytest.mark.parametrize(
    "error",
    [
        SourceConfigError("login failed"),
        SourceSystemError("odd"),
        LakeError("disk"),
        ValueError("bug"),
    ],
)
def test_non_retryable_errors_fail_at_once(error: Exception) -> None:
    fn = Flaky([error])
    with pytest.raises(type(error)):
        call_with_retry(fn, FAST)
    assert len(fn.calls) == 1
    assert not is_retryable(error)


def test_retryable_flag_on_an_instance_class() -> None:
    class RetryableSystem(SourceSystemError):
        retryable = True

    assert is_retryable(RetryableSystem("x"))
    assert is_retryable(TransientSourceError("x"))


def test_backoff_caps_and_jitter_spreads() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    rng = random.Random(3)
    delays = {round(policy.delay(3, rng), 6) for _ in range(50)}
    assert len(delays) > 40
    assert all(2.0 <= d <= 4.0 for d in delays)


def test_invalid_policy() -> None:
    with pytest.raises(InternalError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(InternalError):
        RetryPolicy(base_delay=5, max_delay=1)


def test_cancel_interrupts_the_backoff_sleep() -> None:
    slow = RetryPolicy(max_attempts=3, base_delay=30.0, max_delay=30.0)
    cancel = CancelEvent()
    fn = Flaky([TransientSourceError("timeout")] * 3)
    threading.Timer(0.1, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(RunCancelled) as info:
        call_with_retry(fn, slow, cancel=cancel)
    assert time.monotonic() - started < 5
    assert isinstance(info.value.__cause__, TransientSourceError)
    assert len(fn.calls) == 1


def test_raise_if_cancelled() -> None:
    cancel = CancelEvent()
    raise_if_cancelled(cancel, "r1")
    cancel.cancel()
    with pytest.raises(RunCancelled) as info:
        raise_if_cancelled(cancel, "r1")
    assert info.value.resource_id == "r1"
