"""The Exact Online call budget of a connection, shared by every process that calls Exact for it.

Exact allows 60 calls a minute and 5000 a day per app and division, and answers each call with what
is left (X-RateLimit-* headers, stored on the connection row). Several worker processes book at once,
so each call first takes one call from the stored daily and minutely budgets with conditional UPDATEs; a
process that finds the minute used up waits for its reset, one that finds the day used up retries later.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import F
from django.utils import timezone

from plugin.models import ExactConnection
from sync.errors import RetryableError

# Waiting longer than this inside a booking holds a worker too long: retry the booking later instead.
MAX_MINUTELY_WAIT = 65.0
BUDGET_FIELDS = ("daily_remaining", "daily_reset_at", "minutely_remaining", "minutely_reset_at")


def budget_claim(connection: ExactConnection, *, sleep: Callable[[float], None]) -> None:
    """Take one call from the shared budget: wait for a near minutely reset, refuse a longer wait."""
    now = timezone.now()
    row = ExactConnection.objects.filter(pk=connection.pk).values(*BUDGET_FIELDS).first() or {}
    _take_from_the_day(connection, row, now)
    reset = row.get("minutely_reset_at")
    if row.get("minutely_remaining") is None or reset is None or reset <= now:
        # Unknown, or its minute is over: the next answer's headers tell the budget again.
        return
    taken = ExactConnection.objects.filter(pk=connection.pk, minutely_remaining__gt=0, minutely_reset_at=reset).update(
        minutely_remaining=F("minutely_remaining") - 1
    )
    if not taken:
        # Used up: after the reset a new minute's budget starts.
        sleep(minutely_wait(reset, now))


def minutely_wait(reset, now) -> float:
    """Seconds until the minutely budget resets; a RetryableError when that is too long to wait."""
    wait = max(0.0, (reset - now).total_seconds())
    if wait > MAX_MINUTELY_WAIT:
        raise RetryableError("Exact Online's per-minute call limit is used up.", retry_after=wait)
    # A little past the reset, so that the next call falls in the new minute.
    return wait + 0.2


def _take_from_the_day(connection: ExactConnection, row: dict, now) -> None:
    """Take one call from the stored daily budget; refuse the call when another process took the last one.

    Each answer's headers set the true count again; in between, several processes must not each spend
    the same last calls (a daily 429 lasts until midnight and helps nobody).
    """
    remaining, reset = row.get("daily_remaining"), row.get("daily_reset_at")
    if remaining is None or reset is None or reset <= now:
        return
    taken = ExactConnection.objects.filter(pk=connection.pk, daily_remaining__gt=0, daily_reset_at=reset).update(
        daily_remaining=F("daily_remaining") - 1
    )
    if not taken:
        wait = (reset - now).total_seconds()
        raise RetryableError("Exact Online's daily call limit for this division is used up.", retry_after=wait)
