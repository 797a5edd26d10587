"""The server-drawn SVG bar chart: well-formed, escaped, proportional, labelled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowservice.console.pages_monitoring import DEFAULT_DAYS, ingestion_query, range_days
from flowservice.console.svg_chart import PLOT_HEIGHT, TOP, Bar, bar_chart, nice_top, number_text

SVG = "{http://www.w3.org/2000/svg}"


def _chart(values: list[int], **kwargs: str) -> ET.Element:
    bars = [Bar(f"d{i}", f"day {i}", v) for i, v in enumerate(values)]
    text = bar_chart(
        bars,
        title=kwargs.get("title", "Records"),
        description=kwargs.get("description", "per day"),
        y_label=kwargs.get("y_label", "records"),
    )
    return ET.fromstring(text)


def _rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


@given(st.lists(st.integers(min_value=0, max_value=10**12), max_size=120))
def test_any_counts_give_a_well_formed_chart_of_proportional_bars(values: list[int]) -> None:
    root = _chart(values)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    rects = _rects(root)
    assert [int(r.get("data-value", "-1")) for r in rects] == values
    heights = [float(r.get("height", "nan")) for r in rects]
    assert all(0 <= h <= PLOT_HEIGHT + 1e-6 for h in heights)
    largest = max(values, default=0)
    if largest == 0:
        assert all(h == 0 for h in heights)
        return
    tallest = heights[values.index(largest)]
    # the axis top is at most 2.5 times the largest count (and at least 4, one per tick)
    assert tallest >= PLOT_HEIGHT * min(largest / 4, 0.4) - 1e-3
    for value, height in zip(values, heights, strict=True):
        assert height == pytest.approx(tallest * value / largest, abs=1e-3)
    # every bar stands on the x axis
    for rect in rects:
        bottom = float(rect.get("y", "nan")) + float(rect.get("height", "nan"))
        assert bottom == pytest.approx(TOP + PLOT_HEIGHT, abs=1e-3)


def test_texts_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & </svg>'
    bars = [Bar(hostile, hostile, 3)]
    text = bar_chart(bars, title=hostile, description=hostile, y_label=hostile)
    root = ET.fromstring(text)
    assert "<script>" not in text
    assert root.find(f"{SVG}title") is not None
    assert root.findtext(f"{SVG}title") == hostile
    assert _rects(root)[0].get("data-label") == hostile


def test_the_axis_has_round_ticks_and_labels() -> None:
    root = _chart([0, 130, 40])
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[:5] == ["0", "50", "100", "150", "200"]
    assert ticks[5:] == ["d0", "d1", "d2"]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "axis-label"]
    assert labels == ["records"]
    tips = [r.findtext(f"{SVG}title") for r in _rects(root)]
    assert tips == ["day 0: 0", "day 1: 130", "day 2: 40"]


def test_many_bars_keep_a_readable_number_of_x_labels() -> None:
    root = _chart(list(range(90)))
    x_labels = [t for t in root.iter(f"{SVG}text") if (t.text or "").startswith("d")]
    assert 1 < len(x_labels) <= 8


def test_an_empty_series_still_draws_the_axes() -> None:
    root = _chart([])
    assert _rects(root) == []
    assert root.findall(f"{SVG}line")


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        bar_chart([Bar("a", "a", -1)], title="t", description="d", y_label="y")


@pytest.mark.parametrize(
    ("largest", "top"),
    [(0, 4), (1, 4), (4, 4), (5, 8), (130, 200), (1000, 1000), (1001, 2000), (2_600, 4_000)],
)
def test_nice_top(largest: int, top: int) -> None:
    assert nice_top(largest) == top


@given(st.integers(min_value=1, max_value=10**15))
def test_nice_top_covers_the_largest_in_four_whole_steps(largest: int) -> None:
    top = nice_top(largest)
    assert largest <= top <= 2.5 * largest + 4 and top % 4 == 0


NUMBER_TEXTS = [
    (0, "0"),
    (9_999, "9999"),
    (12_000, "12k"),
    (12_345, "12.3k"),
    (3_400_000, "3.4M"),
    (2_000_000_000, "2G"),
]


@pytest.mark.parametrize(("value", "text"), NUMBER_TEXTS)
def test_number_text(value: int, text: str) -> None:
    assert number_text(value) == text


def test_short_ranges_are_hourly_and_long_ones_daily() -> None:
    now = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    hourly = ingestion_query(1, (), now)
    assert hourly.granularity == "HOUR" and len(hourly.buckets) == 24
    assert hourly.buckets[-1] == datetime(2026, 12, 3, 14, tzinfo=UTC)
    daily = ingestion_query(7, ("ds1",), now)
    assert daily.granularity == "DAY" and len(daily.buckets) == 7
    assert daily.buckets[0] == datetime(2026, 11, 27, tzinfo=UTC)
    assert daily.metrics[0].dataset_ids == ("ds1",)


@pytest.mark.parametrize("given", ["", "3", "-7", "²", "1e3", "7.0", "nope"])
def test_an_unoffered_range_is_the_default(given: str) -> None:
    assert range_days(given) == DEFAULT_DAYS


def test_offered_ranges_are_taken() -> None:
    assert [range_days(v) for v in ("1", "2", "30", "90")] == [1, 2, 30, 90]
