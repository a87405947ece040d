"""The year's totals per month as bars for a server-rendered SVG: Eduframe's beside Exact's, no JavaScript."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 760, 240, 16, 28, 64
GROUP = (WIDTH - LEFT) / 12
BAR = 18


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    value: Decimal
    side: str  # "eduframe" or "exact"


@dataclass(frozen=True)
class MonthBars:
    label: str
    label_x: float
    eduframe: Bar
    exact: Bar
    differs: bool
    chosen: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    top: float
    scale_label: str
    months: list[MonthBars]


def chart_build(months, chosen_month: int) -> Chart:
    """Bars scaled to the largest monthly total; a month whose totals differ is marked."""
    largest = max([max(m.eduframe, m.exact) for m in months] + [Decimal("0.01")])
    plot = HEIGHT - TOP - BOTTOM
    baseline = HEIGHT - BOTTOM

    def bar(x: float, value: Decimal, side: str) -> Bar:
        height = float(max(value, Decimal(0)) / largest) * plot
        return Bar(round(x, 1), round(baseline - height, 1), round(height, 1), value, side)

    bars = []
    for index, month in enumerate(months):
        left = LEFT + index * GROUP + (GROUP - 2 * BAR - 2) / 2
        bars.append(
            MonthBars(
                label=MONTHS[month.month - 1],
                label_x=round(LEFT + index * GROUP + GROUP / 2, 1),
                eduframe=bar(left, month.eduframe, "eduframe"),
                exact=bar(left + BAR + 2, month.exact, "exact"),
                differs=month.eduframe != month.exact,
                chosen=month.month == chosen_month,
            )
        )
    return Chart(WIDTH, HEIGHT, baseline, TOP, f"€ {largest:,.2f}", bars)
