"""A bar chart drawn on the server as inline SVG: data in, an escaped SVG string out.

No script and no library: a ``<title>`` and ``<desc>`` name the chart for
screen readers, each bar carries its own ``<title>`` (its label and value),
and the page shows the same numbers in a table. Bar heights are proportional
to the values, against a y axis whose top is a "nice" round number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 44  # room for the axis labels
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8
Y_TICKS = 4


@dataclass(frozen=True)
class Bar:
    """One bucket of the series: its axis label, a longer label for its title, its value."""

    label: str
    long_label: str
    value: int


def nice_top(largest: int, ticks: int = Y_TICKS) -> int:
    """The smallest round number (1, 2, 2.5 or 5 times a power of ten, per tick)
    that is at least ``largest`` and divides into ``ticks`` equal integer steps."""
    if largest <= 0:
        return ticks
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw and step == int(step):
            return int(step) * ticks
    return math.ceil(raw) * ticks  # unreachable in practice: 10 x power is always whole


def number_text(value: int) -> str:
    """``12k``, ``3.4M``: short tick labels; plain digits below ten thousand."""
    for threshold, divisor, suffix in (
        (1_000_000_000, 1_000_000_000, "G"),
        (1_000_000, 1_000_000, "M"),
        (10_000, 1_000, "k"),
    ):
        if value >= threshold:
            return f"{value / divisor:.1f}".removesuffix(".0") + suffix
    return str(value)


def _text(x: float, y: float, content: str, anchor: str, css: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">'
        f"{escape(content)}</text>"
    )


def bar_chart(
    bars: Sequence[Bar], *, title: str, description: str, y_label: str, chart_id: str = "chart"
) -> str:
    """The SVG of ``bars`` (values must be non-negative); an axis even when all are zero."""
    if any(bar.value < 0 for bar in bars):
        raise ValueError("a bar chart of counts takes no negative values")
    top = nice_top(max((bar.value for bar in bars), default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    parts += _y_axis(top, y_label)
    parts += _bars(bars, top)
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_HEIGHT}" '
        f'x2="{LEFT + PLOT_WIDTH}" y2="{TOP + PLOT_HEIGHT}"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _y_axis(top: int, y_label: str) -> list[str]:
    out = []
    for i in range(Y_TICKS + 1):
        value = top * i // Y_TICKS
        y = TOP + PLOT_HEIGHT - PLOT_HEIGHT * i / Y_TICKS
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_WIDTH}" '
                   f'y2="{y:.1f}"/>')  # fmt: skip
        out.append(_text(LEFT - 6, y + 4, number_text(value), "end", "tick"))
    middle = TOP + PLOT_HEIGHT / 2
    out.append(
        f'<text class="axis-label" text-anchor="middle" '
        f'transform="translate(14 {middle:.1f}) rotate(-90)">{escape(y_label)}</text>'
    )
    return out


def _bars(bars: Sequence[Bar], top: int) -> list[str]:
    if not bars:
        return []
    slot = PLOT_WIDTH / len(bars)
    width = max(1.0, slot * 0.8)
    every = max(1, math.ceil(len(bars) / MAX_X_LABELS))
    out = []
    for i, bar in enumerate(bars):
        height = PLOT_HEIGHT * bar.value / top
        x = LEFT + slot * i + (slot - width) / 2
        y = TOP + PLOT_HEIGHT - height
        tip = escape(f"{bar.long_label}: {bar.value:,}")
        out.append(
            f'<rect class="bar" x="{x:.2f}" y="{y:.4f}" width="{width:.2f}" '
            f'height="{height:.4f}" data-value="{bar.value}" data-label={quoteattr(bar.label)}>'
            f"<title>{tip}</title></rect>"
        )
        if i % every == 0:
            centre = LEFT + slot * i + slot / 2
            out.append(_text(centre, TOP + PLOT_HEIGHT + 18, bar.label, "middle", "tick"))
    return out
