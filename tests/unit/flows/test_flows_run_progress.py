"""Live progress: what the copy counts, and the reporter that saves changed snapshots."""

from __future__ import annotations

import threading
import time

from flowservice.flows.run_progress import LiveProgress, ProgressReporter, ProgressSnapshot


def _wait_for(condition: threading.Event) -> None:
    assert condition.wait(5), "the reporter never saved"


def test_counts_follow_the_attempt_and_restart_with_a_new_one() -> None:
    live = LiveProgress()
    live.read(records=10, failed=2)
    live.wrote(4)
    live.wrote(4)
    assert live.snapshot() == ProgressSnapshot(read=10, written=8, failed=2)
    live.restart()  # a retried attempt reads everything again
    assert live.snapshot() == ProgressSnapshot()


def test_the_reporter_saves_changes_only_and_survives_failed_saves() -> None:
    live = LiveProgress()
    saved: list[ProgressSnapshot] = []
    attempts = 0
    second = threading.Event()

    def save(now: ProgressSnapshot) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("the database is away")  # the next tick tries again
        saved.append(now)
        second.set()

    with ProgressReporter(live, save, interval=0.01):
        time.sleep(0.1)  # nothing counted yet: nothing to save
        assert attempts == 0
        live.read(records=3, failed=0)
        _wait_for(second)
        time.sleep(0.1)  # unchanged since: saved once
    assert saved == [ProgressSnapshot(read=3)]
