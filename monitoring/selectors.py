"""Reads for the sync log's chart: the last 30 days of bookings and Exact calls of an installation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from plugin.models import ExactConnection, GlobalSettings, Installation
from sync.models import ExactCallDay, InvoiceRecord, SyncAttempt

Outcome = SyncAttempt.Outcome
# Exact's documented daily limit per division, shown until Exact has told the real one.
DEFAULT_DAILY_LIMIT = 5000


@dataclass(frozen=True)
class DayActivity:
    day: date
    booked: int  # invoices booked or updated in Exact that day
    attention: int  # invoices whose attempt that day ended needing attention
    exact_calls: int
    daily_limit: int


def sync_activity(*, installation: Installation, days: int = 30, today: date | None = None) -> list[DayActivity]:
    """One row per day, oldest first, ending today (local time); days without activity are zeros."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    booked, attention = _invoices_per_day(installation, first)
    calls, limits = _calls_per_day(installation, first)
    fallback = _current_limit(installation)
    return [
        DayActivity(
            day=day,
            booked=booked.get(day, 0),
            attention=attention.get(day, 0),
            exact_calls=calls.get(day, 0),
            daily_limit=limits.get(day) or fallback,
        )
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def _invoices_per_day(installation: Installation, first: date) -> tuple[dict[date, int], dict[date, int]]:
    """Distinct invoices per day: booked (created or updated), and ended needing attention."""
    start = timezone.make_aware(datetime.combine(first, time.min))
    attempts = SyncAttempt.objects.filter(invoice__installation=installation, finished_at__gte=start)
    rows = (
        attempts.annotate(day=TruncDate("finished_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            booked=Count("invoice", distinct=True, filter=Q(outcome__in=(Outcome.CREATED, Outcome.UPDATED))),
            attention=Count(
                "invoice",
                distinct=True,
                filter=Q(outcome=Outcome.FAILED, error_kind=InvoiceRecord.ErrorKind.FUNCTIONAL),
            ),
        )
        .order_by()
    )
    return {r["day"]: r["booked"] for r in rows}, {r["day"]: r["attention"] for r in rows}


def _calls_per_day(installation: Installation, first: date) -> tuple[dict[date, int], dict[date, int | None]]:
    division = GlobalSettings.objects.filter(installation=installation).values_list("division", flat=True).first()
    rows = ExactCallDay.objects.filter(installation=installation, division=division or 0, day__gte=first)
    return {r.day: r.calls for r in rows}, {r.day: r.daily_limit for r in rows}


def _current_limit(installation: Installation) -> int:
    limit = ExactConnection.objects.filter(installation=installation).values_list("daily_limit", flat=True).first()
    return limit or DEFAULT_DAILY_LIMIT
