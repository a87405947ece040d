"""The sync log's 30-day chart as plain SVG geometry: computed here, drawn by a template, no JavaScript.

Two panels share the days on the x axis: invoices booked and invoices needing attention per day, and the
Exact calls per day against the division's daily limit (a dashed line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from monitoring.selectors import DayActivity

WIDTH, HEIGHT = 900, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 26


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Panel:
    title: str
    summary: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    limit_y: float | None = None
    limit_label: str = ""
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT
    right: int = WIDTH - RIGHT


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1): tidy axis ends."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def _frame(title: str, summary: str, days: list[DayActivity], top: int) -> tuple[Panel, float, float]:
    panel = Panel(title=title, summary=summary)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(days))
    scale = plot_height / top
    # Counts are whole: no tick at half of 1 or 5.
    values = (0, top // 2, top) if top % 2 == 0 else (0, top)
    panel.y_ticks = [Tick(HEIGHT - BOTTOM - value * scale, str(value)) for value in values]
    panel.x_ticks = [
        Tick(LEFT + slot * (i + 0.5), f"{day.day:%-d %b}")
        for i, day in enumerate(days)
        if i % 5 == 0 or i == len(days) - 1
    ]
    return panel, slot, scale


def _bar(x: float, width: float, value: int, scale: float, css: str, title: str) -> Bar:
    height = value * scale
    return Bar(round(x, 1), round(HEIGHT - BOTTOM - height, 1), round(width, 1), round(height, 1), css, title)


def invoices_panel(days: list[DayActivity]) -> Panel:
    booked, attention = sum(d.booked for d in days), sum(d.attention for d in days)
    summary = f"{booked} booked and {attention} needing attention in {len(days)} days"
    top = nice_ceiling(max([d.booked for d in days] + [d.attention for d in days] + [1]))
    panel, slot, scale = _frame("Invoices per day", summary, days, top)
    width = slot * 0.38
    for i, day in enumerate(days):
        x = LEFT + slot * i + slot * 0.1
        when = f"{day.day:%-d %b}"
        panel.bars.append(_bar(x, width, day.booked, scale, "booked", f"{when}: {day.booked} booked"))
        panel.bars.append(
            _bar(x + width, width, day.attention, scale, "attention", f"{when}: {day.attention} needing attention")
        )
    return panel


def calls_panel(days: list[DayActivity]) -> Panel:
    limit = days[-1].daily_limit if days else 0
    summary = f"{days[-1].exact_calls if days else 0} of {limit} today"
    top = nice_ceiling(max([d.exact_calls for d in days] + [d.daily_limit for d in days] + [1]))
    panel, slot, scale = _frame("Exact Online calls per day", summary, days, top)
    for i, day in enumerate(days):
        title = f"{day.day:%-d %b}: {day.exact_calls} of {day.daily_limit} calls"
        panel.bars.append(_bar(LEFT + slot * i + slot * 0.15, slot * 0.7, day.exact_calls, scale, "calls", title))
    panel.limit_y = round(HEIGHT - BOTTOM - limit * scale, 1)
    panel.limit_label = f"daily limit {limit}"
    return panel
