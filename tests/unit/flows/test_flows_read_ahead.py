"""read_ahead: order, bounded look-ahead, errors at their place, early stop closes the source."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from flowservice.errors import TransientSourceError
from flowservice.flows.read_ahead import read_ahead


class Source:
    """Counts what was produced and whether it was closed, and in which thread."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced = 0
        self.closed = threading.Event()
        self.threads: set[str] = set()

    def __call__(self) -> Iterator[int]:
        try:
            for i in range(self.count):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise TransientSourceError("connection reset by peer")
                self.produced += 1
                yield i
        finally:
            self.threads.add(threading.current_thread().name)
            self.closed.set()


def test_items_arrive_in_order_from_another_thread() -> None:
    source = Source(100)
    assert list(read_ahead(source, depth=3)) == list(range(100))
    assert source.closed.is_set()
    assert threading.current_thread().name not in source.threads


def test_the_producer_stays_at_most_depth_items_ahead() -> None:
    source = Source(1000)
    stream = read_ahead(source, depth=4)
    assert next(stream) == 0
    # let the producer fill the queue; it must then block
    for _ in range(100):
        if source.produced >= 6:
            break
        threading.Event().wait(0.01)
    threading.Event().wait(0.1)
    # one taken + 4 queued + 1 waiting to be put
    assert source.produced <= 1 + 4 + 1
    stream.close()
    assert source.closed.is_set()


def test_a_source_error_is_raised_after_the_items_before_it() -> None:
    source = Source(10, fail_at=5)
    got: list[int] = []
    with pytest.raises(TransientSourceError):
        for item in read_ahead(source, depth=2):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]
    assert source.closed.is_set()


def test_an_error_opening_the_source_reaches_the_consumer() -> None:
    def broken() -> Iterator[int]:
        raise TransientSourceError("login timeout")

    with pytest.raises(TransientSourceError, match="login timeout"):
        next(read_ahead(broken))


def test_stopping_early_closes_the_source_and_joins_the_thread() -> None:
    source = Source(10_000)
    before = threading.active_count()
    stream = read_ahead(source, depth=2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert source.closed.is_set()
    assert source.produced < 10_000
    assert threading.active_count() == before


def test_a_consumer_failure_mid_stream_stops_the_producer() -> None:
    source = Source(10_000)
    before = threading.active_count()

    def consume() -> None:
        for item in read_ahead(source, depth=2):
            if item == 7:
                raise ValueError("the writer failed")

    with pytest.raises(ValueError, match="the writer failed"):
        consume()
    assert source.closed.is_set()
    assert threading.active_count() == before


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        next(read_ahead(lambda: iter([1]), depth=0))
