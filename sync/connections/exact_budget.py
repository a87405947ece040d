"""The Exact Online call budget of a connection, shared by every process that calls Exact for it.

Exact allows a number of calls per minute and per day per app and division, and answers each call with
what is left and when each window resets (X-RateLimit-* headers, stored on the connection row). Several
worker processes book at once, so each call first takes one call from the stored budgets with conditional
UPDATEs. A spent budget never makes a process sleep: it raises DeferredError with the reset Exact announced,
the work goes back to the database until then, and the worker books another tenant's invoice meanwhile.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, When
from django.utils import timezone

from plugin.models import ExactConnection
from sync.exact.budget import BUDGET_FIELDS, budget_deferral
from sync.models import ExactCallDay

__all__ = ["BUDGET_FIELDS", "budget_check", "budget_claim", "budget_deferral", "call_count", "limits_record"]


def budget_claim(connection: ExactConnection) -> None:
    """Take one call from the shared daily and minutely budgets; DeferredError when either is spent.

    One conditional UPDATE takes the call from both windows at once (a window unknown or over is left alone:
    the next answer's headers tell it again); only when it takes nothing is the row read, to say which window
    is spent and until when. Another process may change the row in between: then the UPDATE is tried again.
    """
    for _ in range(CLAIM_TRIES):
        now = timezone.now()
        if _take_one(connection, now):
            return
        deferral = budget_deferral(_budget_row(connection), calls=1, now=now)
        if deferral is not None:
            raise deferral
    # The row changed under us at every try (new headers each time): the windows moved on, send the call.


# Reading the row after a refused UPDATE and finding room means new headers arrived in between: rare, and
# twice in a row practically never.
CLAIM_TRIES = 3


def _open(remaining_field: str, reset_field: str, now) -> Q:
    """The window is known and not over yet (only such a window is counted down)."""
    return Q(**{f"{remaining_field}__isnull": False, f"{reset_field}__gt": now})


def _take_one(connection: ExactConnection, now) -> bool:
    """Count one call down in every open window, provided no open window is at 0 (rows == 1: taken)."""
    windows = (("daily_remaining", "daily_reset_at"), ("minutely_remaining", "minutely_reset_at"))
    rows = ExactConnection.objects.filter(pk=connection.pk)
    changes = {}
    for remaining_field, reset_field in windows:
        is_open = _open(remaining_field, reset_field, now)
        rows = rows.exclude(is_open & Q(**{f"{remaining_field}__lt": 1}))
        changes[remaining_field] = Case(
            When(is_open, then=F(remaining_field) - 1), default=F(remaining_field), output_field=IntegerField()
        )
    return rows.update(**changes) == 1


def budget_check(connection: ExactConnection, *, calls: int) -> None:
    """Refuse (DeferredError) work that needs `calls` calls when the known budget holds fewer, before any call.

    A booking that stopped half-way for the budget would pay again to find what it already made: better to
    start it in the next window, whole. Nothing is taken here; each call still claims its own.
    """
    deferral = budget_deferral(_budget_row(connection), calls=calls, now=timezone.now())
    if deferral is not None:
        raise deferral


def _budget_row(connection: ExactConnection) -> dict:
    return ExactConnection.objects.filter(pk=connection.pk).values(*BUDGET_FIELDS).first() or {}


_DIVISION_IN_PATH = re.compile(r"^/api/v1/(\d+)/")


def call_count(connection: ExactConnection, *, path: str, status: int, daily_limit: int | None = None) -> None:
    """Count one answered call on the day row of its division (one UPDATE; an INSERT on the day's first call).

    Calls without a division in the path (`/api/v1/current/Me`) are not counted: there are a few per connect.
    """
    match = _DIVISION_IN_PATH.match(path)
    if match is None or connection.installation_id is None:
        return
    key = {"installation_id": connection.installation_id, "division": int(match.group(1)), "day": timezone.localdate()}
    changes: dict[str, Any] = {"calls": F("calls") + 1}
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


def limits_record(connection: ExactConnection, changes: dict) -> None:
    """Keep the rate-limit headers of an answer (and the last success) on the connection row (one cheap UPDATE)."""
    for field, value in changes.items():
        setattr(connection, field, value)
    ExactConnection.objects.filter(pk=connection.pk).update(**changes)
