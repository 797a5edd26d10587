"""Which on-demand windows an append-mode flow may copy: never a source row version twice.

A window ``[s, e)`` asked for by ``POST /runs`` (or by re-triggering a run that
has one) is refused when

* it intersects the window of a committed (successful) run of the flow: the
  rows of the intersection are in the dataset already; or
* the flow has a position (its watermark: the end of the last committed, or
  given-up, window) and ``s`` is after it: ``[position, s)`` would stay
  uncopied, and the scheduler's next window ``[position, ...)`` would later
  overlap ``[s, e)``.

A window starting at or before the position and ending after it is allowed
when it intersects no committed window; its success moves the position to
``e``. See docs/flows.md ("On-demand runs").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flowservice.errors import ValidationFailed
from flowservice.flows.schedule import Window, to_epoch_ms


@dataclass(frozen=True)
class CommittedWindow:
    """The window a successful run of the flow committed."""

    run_id: str
    window: Window


def _before(start: datetime | None, end: datetime) -> bool:
    """Whether ``start`` (None: the beginning of history) is before ``end``."""
    return start is None or start < end


def overlaps(first: Window, second: Window) -> bool:
    """Whether two half-open windows share at least one instant."""
    return _before(first.start, second.end) and _before(second.start, first.end)


def _seconds(moment: datetime | None) -> str:
    """A bound as requests send it: epoch seconds (0: the beginning of history)."""
    if moment is None:
        return "0"
    ms = to_epoch_ms(moment)
    return str(ms // 1000) if ms % 1000 == 0 else f"{ms // 1000}.{ms % 1000:03d}"


def _shown(window: Window) -> str:
    return f"[{_seconds(window.start)}, {_seconds(window.end)})"


def refused_window(
    requested: Window, *, committed: Iterable[CommittedWindow], position: datetime | None
) -> ValidationFailed | None:
    """None when ``requested`` may be copied; otherwise the error that says why not."""
    clashes = sorted(
        (c for c in committed if overlaps(requested, c.window)),
        key=lambda c: (c.window.start is not None, c.window.start, c.window.end, c.run_id),
    )
    if clashes:
        first = clashes[0]
        hint = "" if position is None else f"; the flow's position is {_seconds(position)}"
        return ValidationFailed(
            f"the window {_shown(requested)} (epoch seconds) overlaps the window "
            f"{_shown(first.window)} of run {first.run_id}, which succeeded: its rows are in "
            "the dataset already and would be copied twice; choose a window that overlaps no "
            f"successful run's window{hint}"
        )
    if position is not None and requested.start is not None and requested.start > position:
        at = _seconds(position)
        return ValidationFailed(
            f"the window {_shown(requested)} (epoch seconds) starts after the flow's position "
            f"{at} (the end of its last committed or given-up window): the rows of [{at}, "
            f"{_seconds(requested.start)}) would never be copied; start the window at or "
            f"before {at}"
        )
    return None
