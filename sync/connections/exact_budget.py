"""The Exact Online call budget of a connection, shared by every process that calls Exact for it.

Exact allows a number of calls per minute and per day per app and division, and answers each call with
what is left and when each window resets (X-RateLimit-* headers, stored on the connection row). Several
worker processes book at once, so each call first takes one call from the stored budgets with conditional
UPDATEs. A spent budget never makes a process sleep: it raises DeferredError with the reset Exact announced,
the work goes back to the database until then, and the worker books another tenant's invoice meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from plugin.models import ExactConnection
from sync.exact.budget import BUDGET_FIELDS, budget_deferral
from sync.models import ExactCallDay

__all__ = [
    "BUDGET_FIELDS",
    "budget_check",
    "budget_claim",
    "budget_deferral",
    "call_count",
    "call_tally",
    "calls_write",
    "limits_record",
    "limits_worth_storing",
]


def budget_claim(connection: ExactConnection) -> dict[str, Any]:
    """Take one call from the shared daily and minutely budgets; DeferredError when either is spent.

    One conditional UPDATE takes the call from both windows at once (a window unknown or over is left alone:
    the next answer's headers tell it again) and returns what it left (`limits_worth_storing` compares the
    answer's headers with that); only when it takes nothing is the row read, to say which window is spent
    and until when. Another process may change the row in between: then the UPDATE is tried again.
    """
    for _ in range(CLAIM_TRIES):
        now = timezone.now()
        left = _take_one(connection, now)
        if left is not None:
            return left
        deferral = budget_deferral(_budget_row(connection), calls=1, now=now)
        if deferral is not None:
            raise deferral
    # The row changed under us at every try (new headers each time): the windows moved on, send the call.
    return {}


# Reading the row after a refused UPDATE and finding room means new headers arrived in between: rare, and
# twice in a row practically never.
CLAIM_TRIES = 3

# What the take returns: the budget it left, the limits and the last success the row holds.
_LEFT_FIELDS = (*BUDGET_FIELDS, "daily_limit", "minutely_limit", "last_success_at")
_DATETIME_FIELDS = frozenset({"daily_reset_at", "minutely_reset_at", "last_success_at"})


def _window_sql(remaining: str, reset: str) -> tuple[str, str]:
    """The window's countdown and its refusal (open, i.e. known and not over, and at 0); NULLs count as not open."""
    is_open = f"({remaining} IS NOT NULL AND {reset} IS NOT NULL AND {reset} > %s)"
    countdown = f"{remaining} = CASE WHEN {is_open} THEN {remaining} - 1 ELSE {remaining} END"
    spent = f"NOT ({is_open} AND {remaining} < 1)"
    return countdown, spent


def _take_sql() -> str:
    daily = _window_sql("daily_remaining", "daily_reset_at")
    minutely = _window_sql("minutely_remaining", "minutely_reset_at")
    table = ExactConnection._meta.db_table
    # Column names of our own only, no input: the values go as parameters.
    sql = f"UPDATE {table} SET {daily[0]}, {minutely[0]} WHERE id = %s AND {daily[1]} AND {minutely[1]} "  # noqa: S608
    return sql + f"RETURNING {', '.join(_LEFT_FIELDS)}"


# Written once: building the statement through the ORM costs about a millisecond of CPU per call.
_TAKE_SQL = _take_sql()


def _take_one(connection: ExactConnection, now) -> dict[str, Any] | None:
    """Count one call down in every open window, provided no open window is at 0; what it left, or None."""
    db = connections[ExactConnection.objects.db]
    at = db.ops.adapt_datetimefield_value(now)
    with db.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [at, at, connection.pk, at, at])
        row = cursor.fetchone()
    if row is None:
        return None
    return {name: _from_db(name, value) for name, value in zip(_LEFT_FIELDS, row, strict=True)}


def _from_db(name: str, value: Any) -> Any:
    """A datetime as the ORM would give it, aware (SQLite answers RETURNING datetimes naive or as text, in UTC)."""
    if name not in _DATETIME_FIELDS or value is None:
        return value
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def budget_check(connection: ExactConnection, *, calls: int, row: dict[str, Any] | None = None) -> None:
    """Refuse (DeferredError) work that needs `calls` calls when the known budget holds fewer, before any call.

    A booking that stopped half-way for the budget would pay again to find what it already made: better to
    start it in the next window, whole. Nothing is taken here; each call still claims its own. `row`: the budget
    fields as the caller read them just now (the row is read when not given).
    """
    stored = row if row is not None else _budget_row(connection)
    deferral = budget_deferral(stored, calls=calls, now=timezone.now())
    if deferral is not None:
        raise deferral


def _budget_row(connection: ExactConnection) -> dict:
    return ExactConnection.objects.filter(pk=connection.pk).values(*BUDGET_FIELDS).first() or {}


_DIVISION_IN_PATH = re.compile(r"^/api/v1/(\d+)/")


@dataclass
class DayCount:
    """Answered calls of one division on one day, not written yet: calls, 429s among them, the last known limit."""

    calls: int = 0
    rate_limited: int = 0
    daily_limit: int | None = None

    def add(self, *, status: int, daily_limit: int | None) -> None:
        self.calls += 1
        self.rate_limited += int(status == 429)
        if daily_limit is not None:
            self.daily_limit = daily_limit


# (division, day) -> its calls not written yet.
DayCounts = dict[tuple[int, date], DayCount]


def call_tally(counts: DayCounts, *, path: str, status: int, daily_limit: int | None = None) -> None:
    """Add one answered call to `counts` (see calls_write). Calls without a division in the path
    (`/api/v1/current/Me`) are not counted: there are a few per connect."""
    match = _DIVISION_IN_PATH.match(path)
    if match is None:
        return
    key = (int(match.group(1)), timezone.localdate())
    counts.setdefault(key, DayCount()).add(status=status, daily_limit=daily_limit)


def call_count(connection: ExactConnection, *, path: str, status: int, daily_limit: int | None = None) -> None:
    """Count one answered call on the day row of its division at once (one UPDATE; an INSERT on the day's first)."""
    counts: DayCounts = {}
    call_tally(counts, path=path, status=status, daily_limit=daily_limit)
    calls_write(connection, counts)


def calls_write(connection: ExactConnection, counts: DayCounts) -> None:
    """Add counted calls to their day rows: one UPDATE per division and day (an INSERT on the day's first call)."""
    if connection.installation_id is None:
        return
    for (division, day), count in counts.items():
        key = {"installation_id": connection.installation_id, "division": division, "day": day}
        if _count_on_day_row(key, count):
            continue
        try:
            with transaction.atomic():
                ExactCallDay.objects.create(
                    **key, calls=count.calls, rate_limited=count.rate_limited, daily_limit=count.daily_limit
                )
        except IntegrityError:
            # Another process made the day's row meanwhile.
            _count_on_day_row(key, count)


def _count_sql() -> str:
    table = ExactCallDay._meta.db_table
    # Column names of our own only, no input: the values go as parameters. An unknown limit keeps the stored one.
    return (
        f"UPDATE {table} SET calls = calls + %s, rate_limited = rate_limited + %s, "  # noqa: S608
        "daily_limit = COALESCE(%s, daily_limit) WHERE installation_id = %s AND division = %s AND day = %s"
    )


# Written once, like the take: the ORM would build it again each time.
_COUNT_SQL = _count_sql()


def _count_on_day_row(key: dict[str, Any], count: DayCount) -> bool:
    """Add the calls to the day's row; False when the row does not exist yet."""
    db = connections[ExactCallDay.objects.db]
    params = [
        count.calls,
        count.rate_limited,
        count.daily_limit,
        key["installation_id"],
        key["division"],
        db.ops.adapt_datefield_value(key["day"]),
    ]
    with db.cursor() as cursor:
        cursor.execute(_COUNT_SQL, params)
        return cursor.rowcount == 1


def limits_record(connection: ExactConnection, changes: dict, *, lower_only: bool = False) -> None:
    """Keep the rate-limit headers of an answer (and the last success) on the connection row (one cheap UPDATE).

    `lower_only`: the answer names the windows the row holds and shows less remaining than our take left; then
    remaining is only lowered (LEAST), keeping the calls other processes took meanwhile and have not sent yet.
    Otherwise the headers are stored as Exact tells them.
    """
    for field, value in changes.items():
        setattr(connection, field, value)
    stored = dict(changes)
    for remaining_field, _ in _WINDOWS if lower_only else ():
        if remaining_field in stored:
            stored[remaining_field] = Least(F(remaining_field), Value(stored[remaining_field]))
    ExactConnection.objects.filter(pk=connection.pk).update(**stored)


_WINDOWS = (("daily_remaining", "daily_reset_at"), ("minutely_remaining", "minutely_reset_at"))
# The last success is shown to the minute: storing it more often than this costs an UPDATE per call.
LAST_SUCCESS_EVERY = timedelta(seconds=30)


def limits_worth_storing(left: dict[str, Any], changes: dict[str, Any], *, status: int) -> tuple[dict[str, Any], bool]:
    """What of an answer's headers (and last success) the row does not know yet, given what our take left, and
    whether it may only lower remaining (see limits_record).

    Nothing when the answer only confirms our own count: same resets and limits, remaining as the take left it.
    A 429, a window we did not count down (no take, or a new reset moment), a changed limit or another remaining
    are stored whole, at once: every process's budget relies on them.
    """
    if status == 429 or not left:
        return changes, False
    headers = {k: v for k, v in changes.items() if k != "last_success_at"}
    lower = False
    for remaining_field, reset_field in _WINDOWS:
        if remaining_field not in headers and reset_field not in headers:
            continue
        if headers.get(reset_field) != left.get(reset_field) or left.get(remaining_field) is None:
            return changes, False
        told = headers.get(remaining_field, left[remaining_field])
        if told > left[remaining_field]:
            return changes, False  # Exact counted fewer calls than we did (or the limit is off): its word
        lower = lower or told < left[remaining_field]
    for limit_field in ("daily_limit", "minutely_limit"):
        if limit_field in headers and headers[limit_field] != left.get(limit_field):
            return changes, False
    if lower:
        return changes, True
    success = changes.get("last_success_at")
    previous = left.get("last_success_at")
    if success is not None and (previous is None or success - previous >= LAST_SUCCESS_EVERY):
        return {"last_success_at": success}, False
    return {}, False
