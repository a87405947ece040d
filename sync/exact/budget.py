"""The Exact Online call budget of a connection, shared by every process that calls Exact for it.

Exact allows 60 calls a minute and 5000 a day per app and division, and answers each call with what
is left (X-RateLimit-* headers, stored on the connection row). Several worker processes book at once,
so each call first takes one call from the stored daily and minutely budgets with conditional UPDATEs; a
process that finds the minute used up waits for its reset, one that finds the day used up retries later.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from plugin.models import ExactConnection
from sync.errors import RetryableError
from sync.models import ExactCallDay

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


_DIVISION_IN_PATH = re.compile(r"^/api/v1/(\d+)/")


def call_count(connection: ExactConnection, *, path: str, status: int, daily_limit: int | None = None) -> None:
    """Count one answered call on the day row of its division (one UPDATE; an INSERT on the day's first call).

    Calls without a division in the path (`/api/v1/current/Me`) are not counted: there are a few per connect.
    """
    match = _DIVISION_IN_PATH.match(path)
    if match is None or connection.installation_id is None:
        return
    key = {"installation_id": connection.installation_id, "division": int(match.group(1)), "day": timezone.localdate()}
    changes = {"calls": F("calls") + 1}
    if status == 429:
        changes["rate_limited"] = F("rate_limited") + 1
    if daily_limit is not None:
        changes["daily_limit"] = daily_limit
    day_row = ExactCallDay.objects.filter(**key)
    if day_row.update(**changes):
        return
    try:
        with transaction.atomic():
            ExactCallDay.objects.create(**key, calls=1, rate_limited=int(status == 429), daily_limit=daily_limit)
    except IntegrityError:
        # Another process made the day's row meanwhile.
        day_row.update(**changes)
