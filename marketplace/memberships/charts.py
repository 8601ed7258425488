"""Simple server-side SVG bar charts for the ULO dashboard: no JavaScript, no inline styles (the
CSP forbids them), a <title> and <desc> for screen readers; the page shows the figures in a table
beside each chart too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
AXIS = 30  # room for the month labels under the bars
TOP = 20  # room for the figure above the tallest bar


def bar_chart(
    chart_id: str,
    title: str,
    points: Sequence[tuple[date, int]],
    figure: Callable[[int], str],
) -> Markup:
    """A bar per month (oldest first) with its figure above it, as an SVG element."""
    count = max(len(points), 1)
    slot = WIDTH / count
    bar = slot * 0.7
    peak = max((value for _, value in points), default=0) or 1
    plot = HEIGHT - AXIS - TOP
    desc = "; ".join(f"{month:%B %Y}: {figure(value)}" for month, value in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<line x1="0" y1="{HEIGHT - AXIS}" x2="{WIDTH}" y2="{HEIGHT - AXIS}" '
        'stroke="#0b0c0c" stroke-width="1"/>',
    ]
    for index, (month, value) in enumerate(points):
        height = round(plot * value / peak, 1)
        x = round(index * slot + (slot - bar) / 2, 1)
        y = round(HEIGHT - AXIS - height, 1)
        middle = round(index * slot + slot / 2, 1)
        parts.append(
            f'<rect x="{x}" y="{y}" width="{round(bar, 1)}" height="{height}" fill="#1d70b8"/>'
        )
        parts.append(
            f'<text x="{middle}" y="{round(y - 4, 1)}" text-anchor="middle" font-size="11" '
            f'fill="#0b0c0c">{escape(figure(value))}</text>'
        )
        parts.append(
            f'<text x="{middle}" y="{HEIGHT - AXIS + 16}" text-anchor="middle" font-size="12" '
            f'fill="#0b0c0c">{month:%b}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is a number or escaped


def hours_text(minutes: int) -> str:
    """Minutes in words: 90 -> "1 hour 30 minutes", 0 -> "0 hours"."""
    hours, rest = divmod(minutes, 60)
    words = []
    if hours or not rest:
        words.append(f"{hours} hour{'' if hours == 1 else 's'}")
    if rest:
        words.append(f"{rest} minute{'' if rest == 1 else 's'}")
    return " ".join(words)


def short_hours(minutes: int) -> str:
    """Minutes for a chart label: 90 -> "1h 30m"."""
    hours, rest = divmod(minutes, 60)
    return f"{hours}h {rest:02d}m" if rest else f"{hours}h"
