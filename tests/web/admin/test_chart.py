"""The dashboard chart's axis: round, whole-number ticks a merchant can read."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.web.admin.chart import bars, count_ticks


@pytest.mark.parametrize(("peak", "ticks"), [
    (0, [0, 1]),
    (1, [0, 1]),
    (3, [0, 1, 2, 3]),
    (4, [0, 1, 2, 3, 4]),
    (7, [0, 2, 4, 6, 8]),
    (11, [0, 5, 10, 15]),
    (15, [0, 5, 10, 15]),
    (23, [0, 10, 20, 30]),
    (48, [0, 20, 40, 60]),
    (130, [0, 50, 100, 150]),
    (999, [0, 500, 1000]),
])
def test_count_ticks_are_round_whole_numbers(peak, ticks):
    assert count_ticks(peak) == ticks


@pytest.mark.parametrize("peak", range(0, 400))
def test_count_ticks_cover_the_peak_evenly_with_at_most_five(peak):
    ticks = count_ticks(peak)
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert ticks[0] == 0 and ticks[-1] >= peak and len(steps) == 1
    assert 2 <= len(ticks) <= 5
    assert len(set(ticks)) == len(ticks)


def axis_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end"[^>]*>(\d+)</text>', svg)


def week(values):
    first = date(2026, 11, 1)
    return {first + timedelta(days=n): v for n, v in enumerate(values)}


def test_an_empty_chart_shows_zero_and_one_not_repeated_labels():
    svg = bars(week([(0, 0)] * 7), title="t")
    assert axis_labels(svg) == ["0", "1"]


def test_chart_axis_for_a_busy_week():
    svg = bars(week([(15, 2), (3, 1), (0, 0), (8, 3), (11, 0), (2, 2), (1, 0)]), title="t")
    assert axis_labels(svg) == ["0", "5", "10", "15"]
    assert "the highest day has 15" in svg
    # The tallest bar reaches the top tick exactly.
    heights = [float(h) for h in re.findall(r'class="bar bar-sent"[^>]*height="([\d.]+)"', svg)]
    assert max(heights) == pytest.approx(220 - 28 - 12)
