from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from flowservice.errors import InternalError
from flowservice.flows.cancellation import CancelSignal
from flowservice.flows.executors.base import Executor
from flowservice.flows.executors.local import (
    RUN_SWITCH_INTERVAL_SECONDS,
    LocalExecutor,
    favour_io_threads,
)

WAIT = 5.0  # generous upper bound for thread hand-offs; tests normally take milliseconds


class Recorder:
    """A runner handler that records what ran, in which thread, and can be held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.finished: list[str] = []
        self.cancelled: list[str] = []
        self.threads: set[str] = set()
        self.active = 0
        self.max_active = 0
        self.release = threading.Event()
        self.hold: set[str] = set()
        self.all_done = threading.Condition(self.lock)
        self.started_event: dict[str, threading.Event] = {}

    def __call__(self, run_id: str, cancel: CancelSignal) -> None:
        with self.lock:
            self.started.append(run_id)
            self.threads.add(threading.current_thread().name)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.started_event.setdefault(run_id, threading.Event()).set()
        try:
            if run_id.startswith("boom"):
                raise RuntimeError("Password=should-not-be-logged")
            if run_id in self.hold:
                while not self.release.is_set():
                    if cancel.wait(0.01):
                        with self.lock:
                            self.cancelled.append(run_id)
                        return
        finally:
            with self.all_done:
                self.active -= 1
                self.finished.append(run_id)
                self.all_done.notify_all()

    def wait_started(self, run_id: str) -> None:
        with self.lock:
            event = self.started_event.setdefault(run_id, threading.Event())
        assert event.wait(WAIT), f"{run_id} never started"

    def wait_finished(self, count: int) -> None:
        with self.all_done:
            assert self.all_done.wait_for(lambda: len(self.finished) >= count, WAIT)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def executor(recorder: Recorder) -> Iterator[LocalExecutor]:
    pool = LocalExecutor(recorder, workers=3)
    yield pool
    recorder.release.set()
    pool.shutdown(wait=True, timeout=WAIT)


def test_is_an_executor(executor: LocalExecutor) -> None:
    assert isinstance(executor, Executor)


def test_runs_everything_with_at_most_n_at_once(
    executor: LocalExecutor, recorder: Recorder
) -> None:
    recorder.hold = {f"r{i}" for i in range(9)}
    for i in range(9):
        assert executor.submit(f"r{i}")
    for i in range(3):
        recorder.wait_started(f"r{i}")
    assert sorted(executor.running()) == ["r0", "r1", "r2"]  # FIFO, three workers busy
    assert executor.queued() == [f"r{i}" for i in range(3, 9)]
    recorder.release.set()
    recorder.wait_finished(9)
    assert sorted(recorder.finished) == sorted(f"r{i}" for i in range(9))
    assert recorder.max_active == 3
    assert len(recorder.threads) == 3


def test_a_run_id_is_queued_or_running_once(executor: LocalExecutor, recorder: Recorder) -> None:
    recorder.hold = {"r1"}
    assert executor.submit("r1")
    recorder.wait_started("r1")
    assert not executor.submit("r1")  # running
    recorder.hold = {"r1", "r2", "r3", "r4"}
    for rid in ("r2", "r3", "r4"):
        assert executor.submit(rid)
    assert executor.submit("r5")
    assert not executor.submit("r5")  # queued behind the held ones
    recorder.release.set()
    recorder.wait_finished(5)
    assert recorder.started.count("r1") == 1 and recorder.started.count("r5") == 1
    assert executor.submit("r1")  # done: may run again
    recorder.wait_finished(6)


def test_cancel_queued_and_running(executor: LocalExecutor, recorder: Recorder) -> None:
    recorder.hold = {"a", "b", "c", "d"}
    for rid in ("a", "b", "c", "d"):
        executor.submit(rid)
    recorder.wait_started("a")
    recorder.wait_started("c")
    assert executor.cancel("d")  # still queued: never runs
    assert executor.cancel("a")  # running: its signal fires
    assert not executor.cancel("nope")
    recorder.wait_finished(1)
    recorder.release.set()
    recorder.wait_finished(3)
    assert recorder.cancelled == ["a"]
    assert "d" not in recorder.started
    assert executor.queued() == [] and executor.running() == []


def test_a_failing_handler_does_not_kill_its_worker(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    pool = LocalExecutor(recorder, workers=1)
    try:
        with caplog.at_level(logging.ERROR):
            pool.submit("boom-1")
            pool.submit("after")
            recorder.wait_finished(2)
        assert recorder.finished == ["boom-1", "after"]
        assert "run boom-1: handler raised RuntimeError" in caplog.text
        assert "should-not-be-logged" not in caplog.text
    finally:
        pool.shutdown(timeout=WAIT)


def test_shutdown_drops_queued_runs_and_refuses_new_ones(recorder: Recorder) -> None:
    pool = LocalExecutor(recorder, workers=1)
    recorder.hold = {"long"}
    pool.submit("long")
    pool.submit("queued")
    recorder.wait_started("long")
    pool.shutdown(wait=True, timeout=WAIT, cancel_running=True)
    assert recorder.cancelled == ["long"]
    assert "queued" not in recorder.started
    with pytest.raises(InternalError, match="shut down"):
        pool.submit("late")


def test_shutdown_without_cancel_waits_for_running_handlers(recorder: Recorder) -> None:
    pool = LocalExecutor(recorder, workers=2)
    recorder.hold = {"x"}
    pool.submit("x")
    recorder.wait_started("x")
    threading.Timer(0.2, recorder.release.set).start()
    pool.shutdown(wait=True, timeout=WAIT)
    assert recorder.finished == ["x"] and recorder.cancelled == []


def test_needs_a_worker(recorder: Recorder) -> None:
    with pytest.raises(InternalError):
        LocalExecutor(recorder, workers=0)


@pytest.fixture
def default_switch_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("default_switch_interval")
def test_a_run_executes_with_the_short_gil_switch_interval() -> None:
    seen: list[float] = []
    done = threading.Event()

    def handler(run_id: str, cancel: CancelSignal) -> None:
        seen.append(sys.getswitchinterval())
        done.set()

    pool = LocalExecutor(handler, workers=1)
    try:
        assert sys.getswitchinterval() == pytest.approx(0.005)  # idle pools change nothing
        assert pool.submit("r1")
        assert done.wait(WAIT)
    finally:
        pool.shutdown(wait=True, timeout=WAIT)
    assert seen == [pytest.approx(RUN_SWITCH_INTERVAL_SECONDS)]


@pytest.mark.usefixtures("default_switch_interval")
def test_favour_io_threads_never_raises_the_interval() -> None:
    favour_io_threads(0.0001)
    assert sys.getswitchinterval() == pytest.approx(0.0001)
    favour_io_threads(0.001)
    assert sys.getswitchinterval() == pytest.approx(0.0001)
