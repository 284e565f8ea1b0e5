"""An accessible inline SVG bar chart, drawn on the server: works with no JS and
no asset from the internet. Two series per day: reminders sent, recoveries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 36, 28, 12
# The axis is labelled on both sides: a phone scrolls the chart to its latest days.
PAD_RIGHT = 36
# Labels are drawn at this size in viewBox units; `min_width` on the SVG keeps
# them readable on a phone (the card scrolls sideways instead of shrinking).
FONT_SIZE = 12
SENT_COLOUR, RECOVERED_COLOUR = "#2c6ecb", "#008060"


def count_ticks(peak: int, most: int = 5) -> list[int]:
    """Round, evenly spaced whole-number ticks from 0 up to at least `peak`.

    Steps are 1, 2 or 5 times a power of ten, never fractional (counts are
    whole); at most `most` ticks. An empty chart gets 0 and 1 only."""
    peak = max(int(peak), 1)
    for power in range(0, 19):
        for factor in (1, 2, 5):
            step = factor * 10 ** power
            top = step * math.ceil(peak / step)
            if top // step + 1 <= most:
                return list(range(0, top + 1, step))
    raise ValueError(f"peak {peak} is too large to tick")


def bars(per_day: Mapping[date, tuple[int, int]], *, title: str) -> Markup:
    days = sorted(per_day)
    highest = max([max(v) for v in per_day.values()] + [0])
    ticks = count_ticks(highest)
    peak = ticks[-1]
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(days), 1)
    bar_w = max(2.0, slot * 0.38)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{len(days)} days; blue bars are reminders sent, green bars are '
        f'carts recovered; the highest day has {highest}.</desc>',
    ]
    for value in ticks:
        y = PAD_TOP + plot_h - plot_h * value / peak
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e1e3e5"/>')
        for x, anchor in ((PAD_LEFT - 6, "end"), (WIDTH - PAD_RIGHT + 6, "start")):
            parts.append(f'<text x="{x}" y="{y + 4:.1f}" text-anchor="{anchor}" '
                         f'font-size="{FONT_SIZE}" fill="#616a75">{value}</text>')
    label_every = max(1, math.ceil(len(days) / 8))
    for index, day in enumerate(days):
        sent, recovered = per_day[day]
        x = PAD_LEFT + index * slot + (slot - 2 * bar_w) / 2
        for offset, value, colour, name in ((0, sent, SENT_COLOUR, "sent"),
                                            (bar_w, recovered, RECOVERED_COLOUR, "recovered")):
            height = plot_h * value / peak
            parts.append(
                f'<rect class="bar bar-{name}" x="{x + offset:.1f}" '
                f'y="{PAD_TOP + plot_h - height:.1f}" width="{bar_w:.1f}" '
                f'height="{height:.1f}" fill="{colour}" rx="1.5">'
                f'<title>{day.isoformat()}: {value} {name}</title></rect>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar_w:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                         f'font-size="{FONT_SIZE}" fill="#616a75">{day.strftime("%d %b")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped or numeric
