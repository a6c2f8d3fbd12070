"""Charts as plain SVG text: bars or lines over labelled points, with axis labels.

No JavaScript and no library: the page stays server-rendered and works offline. Every text
that goes into the SVG is escaped here, so the result is safe to put into a page as is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape

WIDTH = 720
HEIGHT = 260
LEFT = 56  # room for the value axis' labels
RIGHT = 12
TOP = 24  # room for the unit above the value axis
BOTTOM = 48  # room for the category labels
TICKS = 4
#: Colours of the series, in order (the first also of single bars).
PALETTE = ("#2f6fb3", "#d9822b", "#3a9a5b", "#b33a3a")
#: At most this many category labels are written; the others are skipped evenly.
MAX_LABELS = 16


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal]]],
    *,
    title: str,
    unit: str,
) -> str:
    """Grouped bars: one group per label, one bar per series."""
    return _chart("bar", labels, series, title=title, unit=unit)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal | None]]],
    *,
    title: str,
    unit: str,
) -> str:
    """One polyline per series over the labels (a missing value breaks no line: skipped)."""
    return _chart("line", labels, series, title=title, unit=unit)


def _chart(
    kind: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal | None]]],
    *,
    title: str,
    unit: str,
) -> str:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    values = [v for _, points in series for v in points if v is not None]
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    top = _nice(high) if high > 0 else Decimal(0)
    bottom = -_nice(-low) if low < 0 else Decimal(0)
    if top == bottom:
        top = Decimal(1)
    span = top - bottom

    def y_of(value: Decimal) -> float:
        return TOP + float((top - value) / span) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    # The value axis: ticks with their labels and light grid lines.
    for n in range(TICKS + 1):
        value = bottom + span * n / TICKS
        y = y_of(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="axis-value" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{escape(_number(value))}</text>'
        )
    parts.append(
        f'<text class="axis-unit" x="4" y="{TOP - 10}" font-size="11">{escape(unit)}</text>'
    )
    zero = y_of(Decimal(0))
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{zero:.1f}" x2="{WIDTH - RIGHT}" y2="{zero:.1f}" '
        f'stroke="#555" stroke-width="1"/>'
    )
    count = max(len(labels), 1)
    step = plot_w / count
    if kind == "bar":
        parts += _bars(series, count, step, y_of, zero)
    else:
        parts += _lines(series, step, y_of)
    # The category axis: at most MAX_LABELS labels, evenly skipped.
    every = max(1, -(-len(labels) // MAX_LABELS))
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + step * (index + 0.5)
        parts.append(
            f'<text class="axis-label" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle" font-size="11">{escape(_clip(label))}</text>'
        )
    # The legend, when there is more than one series.
    if len(series) > 1:
        for index, (name, _) in enumerate(series):
            x = LEFT + index * 180
            colour = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" fill="{colour}"/>'
                f'<text class="legend" x="{x + 14}" y="{HEIGHT - 7}" font-size="11">'
                f"{escape(name)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _bars(
    series: Sequence[tuple[str, Sequence[Decimal | None]]],
    count: int,
    step: float,
    y_of: Callable[[Decimal], float],
    zero: float,
) -> list[str]:
    parts = []
    width = step * 0.8 / max(len(series), 1)
    for s_index, (name, points) in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        for index, value in enumerate(points[:count]):
            if value is None:
                continue
            x = LEFT + step * index + step * 0.1 + width * s_index
            y = y_of(value)
            top, height = min(y, zero), abs(zero - y)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(name)}: '
                f"{escape(_number(value))}</title></rect>"
            )
    return parts


def _lines(
    series: Sequence[tuple[str, Sequence[Decimal | None]]],
    step: float,
    y_of: Callable[[Decimal], float],
) -> list[str]:
    parts = []
    for s_index, (name, points) in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        xy = [
            (LEFT + step * (index + 0.5), y_of(value))
            for index, value in enumerate(points)
            if value is not None
        ]
        if not xy:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(
            f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="2"><title>{escape(name)}</title></polyline>'
        )
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in xy]
    return parts


def _nice(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at least ``value`` (a round top for the axis)."""
    magnitude = Decimal(1).scaleb(value.adjusted())
    for factor in (1, 2, Decimal("2.5"), 5):
        if magnitude * factor >= value:
            return magnitude * factor
    return magnitude * 10


def _number(value: Decimal) -> str:
    """An axis value the Russian way: a comma for the decimal point, no trailing zeros."""
    text = f"{value.normalize():f}" if value != value.to_integral_value() else f"{int(value)}"
    return text.replace(".", ",")


def _clip(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
