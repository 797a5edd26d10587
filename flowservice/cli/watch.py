"""Watch a run until it ends: a live line on a terminal, plain progress lines on a pipe.

Both show rows read and written, rows per second and the elapsed time, then one
summary line. The exit status is the caller's: ``watch_run`` answers the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.text import Text

from flowservice.client import Client, RunTimeout
from flowservice.client.models import Run

# a pipe gets a line when the counts change, and at least this often while nothing does
QUIET_LINE_SECONDS = 10.0


@dataclass(frozen=True)
class Progress:
    status: str
    read: int
    written: int
    failed: int
    elapsed: float

    @classmethod
    def of(cls, run: Run, elapsed: float) -> Progress:
        summary = run.metrics.get("recordSummary")
        counts = summary if isinstance(summary, dict) else {}
        return cls(
            status=run.status or "unknown",
            read=int(counts.get("inputRecordCount") or 0),
            written=int(counts.get("outputRecordCount") or 0),
            failed=int(counts.get("failedRecordCount") or 0),
            elapsed=elapsed,
        )

    @property
    def rate(self) -> float:
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.status}: {self.read:,} rows read, {self.written:,} written, "
            f"{self.failed:,} failed; {self.rate:,.0f} rows/s; {self.elapsed:.1f}s elapsed"
        )


def summary(run: Run, progress: Progress) -> str:
    """The last line: how the run ended and what it moved."""
    return f"run {run.id} {progress.line()}"


def watch_run(
    client: Client,
    run_id: str,
    console: Console,
    *,
    interval: float = 1.0,
    timeout: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Run, Progress]:
    """Poll the run until it is success, failed or cancelled; ``RunTimeout`` after ``timeout``."""
    started = clock()
    if console.is_terminal:
        with Live(Text("waiting for the run…"), console=console, transient=True) as live:

            def show(progress: Progress) -> None:
                live.update(Text(progress.line()))

            return _poll(client, run_id, show, started, interval, timeout, clock)

    last: list[tuple[Progress, float]] = []

    def print_line(progress: Progress) -> None:
        now = clock()
        if last:
            before, printed_at = last[0]
            same = (before.status, before.read, before.written) == (
                progress.status,
                progress.read,
                progress.written,
            )
            if same and now - printed_at < QUIET_LINE_SECONDS:
                return
        last[:] = [(progress, now)]
        console.print(progress.line(), highlight=False, soft_wrap=True)

    return _poll(client, run_id, print_line, started, interval, timeout, clock)


def _poll(
    client: Client,
    run_id: str,
    show: Callable[[Progress], None],
    started: float,
    interval: float,
    timeout: float,
    clock: Callable[[], float],
) -> tuple[Run, Progress]:
    while True:
        run = client.runs.get(run_id)
        progress = Progress.of(run, clock() - started)
        if run.finished:
            return run, progress
        show(progress)
        if clock() - started > timeout:
            raise RunTimeout(
                f"run {run.id} is still {run.status} after {timeout:g}s",
                run_id=run.id,
                state=run.status,
            )
        time.sleep(interval)
