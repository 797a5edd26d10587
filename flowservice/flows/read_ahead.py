"""Read ahead: a producer thread fills a small bounded queue of batches the writer drains.

The Delta writer encodes Parquet without holding the GIL, so reading the next
batches from the source while it encodes the previous ones overlaps the two.
Memory stays bounded by ``depth`` batches in the queue (plus the one being
produced). The producer's exception, including a cancellation, is raised in the
consumer at the point in the stream where it happened; when the consumer stops
early (its write failed), the producer is told to stop, its source is closed in
its own thread, and the thread is joined before the consumer's generator ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.05  # how often a blocked producer looks for a stop request


class _End:
    """The producer's last message: the exception it ended with, or None when exhausted."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _Producer(Generic[T]):
    def __init__(self, source: Callable[[], Iterator[T]], depth: int) -> None:
        self._source = source
        self.queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="flow-read-ahead", daemon=True)

    def _put(self, item: T | _End) -> bool:
        """Block until ``item`` is queued; False if the consumer has gone away meanwhile."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            items = self._source()
            try:
                for item in items:
                    if not self._put(item):
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()  # the source's cleanup (e.g. its connection) runs in this thread
        except BaseException as exc:  # handed to the consumer, which raises it
            error = exc
        self._put(_End(error))


def read_ahead(source: Callable[[], Iterator[T]], *, depth: int = 4) -> Generator[T, None, None]:
    """The items of ``source()``, produced in a background thread up to ``depth`` ahead."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    producer: _Producer[T] = _Producer(source, depth)
    producer.thread.start()
    try:
        while True:
            item = producer.queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        producer.stop.set()
        producer.thread.join()
