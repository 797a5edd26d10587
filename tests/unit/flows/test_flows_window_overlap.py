"""The on-demand window rule: no committed window copied twice, no gap left behind."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.flows.schedule import EPOCH, Window
from flowservice.flows.window_overlap import CommittedWindow, overlaps, refused_window

T0 = 1_700_000_000


def moment(seconds: int) -> timedelta:
    return timedelta(seconds=T0 + seconds)


def window(start: int | None, end: int) -> Window:
    return Window(None if start is None else EPOCH + moment(start), EPOCH + moment(end))


def test_the_probe_a_window_from_zero_to_now_is_refused_naming_the_committed_run() -> None:
    committed = [CommittedWindow("run-1", window(0, 3600))]
    requested = Window(EPOCH, EPOCH + moment(7200))
    error = refused_window(requested, committed=committed, position=EPOCH + moment(3600))
    assert error is not None and error.code == 1455 and error.status == 400
    assert "run-1" in error.message
    assert f"[{T0}, {T0 + 3600})" in error.message  # its window, in epoch seconds
    assert f"[0, {T0 + 7200})" in error.message


def test_continuing_from_the_position_is_allowed() -> None:
    committed = [CommittedWindow("run-1", window(None, 3600))]
    assert (
        refused_window(window(3600, 7200), committed=committed, position=EPOCH + moment(3600))
        is None
    )
    # starting before the position is fine where nothing was committed (a given-up window)
    assert (
        refused_window(window(3600, 9000), committed=committed, position=EPOCH + moment(7200))
        is None
    )


def test_a_window_after_the_position_is_refused_saying_where_to_start() -> None:
    error = refused_window(window(4000, 7200), committed=[], position=EPOCH + moment(3600))
    assert error is not None
    assert f"at or before {T0 + 3600}" in error.message
    assert f"[{T0 + 3600}, {T0 + 4000})" in error.message


def test_the_beginning_of_history_overlaps_everything_before_its_end() -> None:
    assert overlaps(window(None, 10), window(None, 5))
    assert overlaps(window(None, 10), window(9, 20))
    assert not overlaps(window(None, 10), window(10, 20))  # half-open: the end is outside
    error = refused_window(
        window(5, 8), committed=[CommittedWindow("backfill", window(None, 10))], position=None
    )
    assert error is not None and "backfill" in error.message and f"[0, {T0 + 10})" in error.message


def test_sub_second_bounds_are_shown_in_seconds_with_milliseconds() -> None:
    requested = Window(EPOCH + moment(0) + timedelta(milliseconds=250), EPOCH + moment(2))
    error = refused_window(requested, committed=[], position=EPOCH + moment(0))
    assert error is not None and f"[{T0}.250, {T0 + 2})" in error.message


def test_the_earliest_clashing_run_is_named() -> None:
    committed = [
        CommittedWindow("late", window(20, 30)),
        CommittedWindow("early", window(None, 10)),
    ]
    error = refused_window(window(0, 25), committed=committed, position=EPOCH + moment(30))
    assert error is not None and "early" in error.message and "late" not in error.message


# --- properties -------------------------------------------------------------

BOUND = st.integers(min_value=-50, max_value=50)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.none() | BOUND)
    low = -50 if start is None else start + 1
    end = draw(st.integers(min_value=low, max_value=60))
    return window(start, end)


INSTANTS = range(-60, 61)  # every bound the strategies draw lies within


def _inside(instant: int, w: Window) -> bool:
    point = EPOCH + moment(instant)
    return (w.start is None or w.start <= point) and point < w.end


def _instants(w: Window) -> set[int]:
    return {t for t in INSTANTS if _inside(t, w)}


def _covering(instant: int, accepted: list[Window]) -> int:
    return sum(1 for w in accepted if _inside(instant, w))


@settings(max_examples=300, deadline=None)
@given(
    committed=st.lists(windows(), max_size=6),
    position=st.none() | BOUND,
    requested=windows(),
)
def test_an_accepted_window_overlaps_no_committed_one_and_leaves_no_gap(
    committed: list[Window], position: int | None, requested: Window
) -> None:
    done = [CommittedWindow(f"run-{i}", w) for i, w in enumerate(committed)]
    where = None if position is None else EPOCH + moment(position)
    error = refused_window(requested, committed=done, position=where)
    # bounds are whole seconds: two windows intersect exactly when they share a second
    asked = _instants(requested)
    clashes = [c.run_id for c in done if asked & _instants(c.window)]
    gap = where is not None and requested.start is not None and requested.start > where
    if error is None:
        assert not clashes and not gap
    else:
        assert clashes or gap
        assert error.code == 1455
        if clashes:
            assert any(run_id in error.message for run_id in clashes)


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(windows(), max_size=12))
def test_a_flow_running_only_accepted_windows_copies_each_instant_at_most_once(
    requests: list[Window],
) -> None:
    # a flow's life: every accepted window commits and moves the position forward to its end
    accepted: list[Window] = []
    position = None
    for requested in requests:
        done = [CommittedWindow(f"run-{j}", w) for j, w in enumerate(accepted)]
        if refused_window(requested, committed=done, position=position) is None:
            accepted.append(requested)
            position = requested.end if position is None else max(position, requested.end)
    for instant in INSTANTS:
        assert _covering(instant, accepted) <= 1
    # and what was copied since the first commit is contiguous up to the position
    if accepted and position is not None:
        first_start = accepted[0].start
        for instant in INSTANTS:
            point = EPOCH + moment(instant)
            if (first_start is None or point >= first_start) and point < position:
                assert _covering(instant, accepted) == 1, instant
