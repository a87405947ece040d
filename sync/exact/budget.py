"""Exact Online's call budgets, read: when a number of calls fits the budget Exact last announced.

Pure: the stored budget (the X-RateLimit-* headers kept on the connection row) comes in as a dict. The
shared claiming of calls by every process lives with the database side, `sync/connections/exact_budget.py`.
"""

from __future__ import annotations

from datetime import datetime

from sync.errors import WAIT_EXACT_DAY, WAIT_EXACT_MINUTE, DeferredError

BUDGET_FIELDS = ("daily_remaining", "daily_reset_at", "minutely_remaining", "minutely_reset_at")
MINUTE_SPENT = "Exact Online's per-minute call limit for this division is used up."
DAY_SPENT = "Exact Online's daily call limit for this division is used up."


def budget_deferral(row: dict, *, calls: int, now: datetime) -> DeferredError | None:
    """The deferral for `calls` calls against a stored budget row (None: they fit, or the budget is unknown).

    Resets come from Exact's headers only: an unknown or past reset means a fresh window, never "60 s".
    """
    checks = (
        ("daily_remaining", "daily_reset_at", DAY_SPENT, WAIT_EXACT_DAY),
        ("minutely_remaining", "minutely_reset_at", MINUTE_SPENT, WAIT_EXACT_MINUTE),
    )
    for remaining_field, reset_field, message, waiting_for in checks:
        remaining, reset = row.get(remaining_field), row.get(reset_field)
        if remaining is not None and reset is not None and reset > now and remaining < calls:
            return DeferredError(message, not_before=reset, waiting_for=waiting_for)
    return None
