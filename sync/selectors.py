"""Reads of the sync log and status, for the log page, the admin and the `sync_status` command."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from plugin.models import Installation
from sync.models import InvoiceRecord, SyncAttempt

State = InvoiceRecord.State
# States a backfill has finished with: every state but waiting.
DONE_STATES = [State.BOOKED, State.NEEDS_ATTENTION, State.SKIPPED, State.DELETED]


@dataclass(frozen=True)
class SyncStatus:
    counts: dict[str, int] = field(default_factory=dict)
    oldest_pending: InvoiceRecord | None = None
    last_error: SyncAttempt | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def invoice_list(*, installation: Installation, state: str | None = None, search: str | None = None) -> QuerySet:
    """The installation's invoice records, newest first, filtered by state and by a search text."""
    records = InvoiceRecord.objects.filter(installation=installation)
    if state:
        records = records.filter(state=state)
    search = (search or "").strip()
    if search:
        match = Q(number__icontains=search) | Q(account_name__icontains=search) | Q(reason__icontains=search)
        if search.isdigit():
            match |= Q(eduframe_invoice_id=int(search)) | Q(exact_entry_number=int(search))
        records = records.filter(match)
    return records


def invoice_get(*, installation: Installation, record_id: int) -> InvoiceRecord:
    """One record of this installation; another tenant's record is a 404, like a missing one."""
    return get_object_or_404(InvoiceRecord, installation=installation, pk=record_id)


def invoice_counts(*, installation: Installation | None = None) -> dict[str, int]:
    """The number of invoices in each state (every state named, zero included), for one or all installations."""
    records = InvoiceRecord.objects.all()
    if installation is not None:
        records = records.filter(installation=installation)
    counts = dict.fromkeys(State.values, 0)
    counts.update({row["state"]: row["n"] for row in records.values("state").annotate(n=Count("id")).order_by()})
    return counts


def sync_status(*, installation: Installation | None = None) -> SyncStatus:
    """Counts per state, the oldest pending invoice and the last failed attempt, for one or all installations."""
    records = InvoiceRecord.objects.all()
    attempts = SyncAttempt.objects.all()
    if installation is not None:
        records = records.filter(installation=installation)
        attempts = attempts.filter(invoice__installation=installation)
    return SyncStatus(
        counts=invoice_counts(installation=installation),
        oldest_pending=records.filter(state=State.PENDING)
        .select_related("installation")
        .order_by("created_at")
        .first(),
        last_error=attempts.filter(outcome=SyncAttempt.Outcome.FAILED).select_related("invoice").first(),
    )


def backfill_progress(*, installation: Installation, since: date) -> tuple[int, int]:
    """(done, total) of the invoices dated on or after `since` that the sync knows of."""
    # A freshly queued record has no date until the worker has fetched its invoice: count it as to do.
    in_scope = Q(invoice_date__gte=since) | Q(invoice_date__isnull=True, state=State.PENDING)
    records = InvoiceRecord.objects.filter(in_scope, installation=installation)
    stats = records.aggregate(total=Count("id"), done=Count("id", filter=Q(state__in=DONE_STATES)))
    return stats["done"], stats["total"]


# When nothing tells the budget yet: Exact's documented 60 calls a minute, and a booking's typical calls.
DEFAULT_CALLS_PER_WINDOW = 60
DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_CALLS_PER_INVOICE = 4.0
SCHEDULE_HISTORY = 200


@dataclass(frozen=True)
class Wait:
    """What one pending invoice waits for, and about when it will be booked (None: cannot tell)."""

    text: str  # "Waits for Exact's per-minute limit", "After invoice 2025-00412", ...
    eta: datetime | None


@dataclass
class BookingSchedule:
    """A tenant's line of pending work with the pace its Exact budget allows, for the sync log."""

    line: list[tuple[int, str]]  # (record id, number or Eduframe id) in the dispatcher's order
    start: datetime
    window_seconds: float
    invoices_per_window: int
    done: int
    total: int
    waits: dict[int, Wait] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        return len(self.line)

    @property
    def per_minute(self) -> float:
        return self.invoices_per_window * 60.0 / self.window_seconds

    @property
    def finish_at(self) -> datetime | None:
        return self._eta(len(self.line) - 1) if self.line else None

    def _eta(self, position: int) -> datetime:
        windows = position // max(1, self.invoices_per_window) + 1
        return self.start + timedelta(seconds=windows * self.window_seconds)

    def wait_for(self, record: InvoiceRecord) -> Wait | None:
        """The wait of a pending record, or None for one not waiting in line (booked, parked, ...)."""
        if record.pk in self.waits:
            return self.waits[record.pk]
        if record.state != State.PENDING:
            return None
        if record.due_at is None:
            return Wait("Waits for a fix or a reconnect (see the reason)", None)
        now = timezone.now()
        if record.due_at > now and not record.waiting_for:
            return Wait("Waits for its retry time", record.due_at)
        return Wait(
            f"Waits for {record.get_waiting_for_display()}" if record.waiting_for else "Waits for its turn", None
        )


def booking_schedule(*, installation: Installation) -> BookingSchedule:
    """The order in which the dispatcher will book this tenant's due invoices, and about when."""
    now = timezone.now()
    records = InvoiceRecord.objects.filter(installation=installation)
    # In line: pending invoices due now, or held back by a budget until its reset (a backoff after an error is
    # not in line; a booked invoice asked again or one that needs attention is not "waiting to be booked").
    due = records.filter(state=InvoiceRecord.State.PENDING, due_at__isnull=False).filter(
        Q(due_at__lte=now) | ~Q(waiting_for="")
    )
    line = [
        (pk, number or str(ef_id))
        for pk, number, ef_id in due.order_by("priority", "due_at", "id").values_list(
            "id", "number", "eduframe_invoice_id"
        )
    ]
    if not line:
        # Nothing in line: the page costs one query for the schedule.
        return BookingSchedule(
            line=[], start=now, window_seconds=DEFAULT_WINDOW_SECONDS, invoices_per_window=1, done=0, total=0
        )
    calls, window, start = _pace(installation, now)
    per_invoice = _calls_per_invoice(installation)
    stats = records.aggregate(total=Count("id"), done=Count("id", filter=Q(state__in=DONE_STATES)))
    schedule = BookingSchedule(
        line=line,
        start=start,
        window_seconds=window,
        invoices_per_window=max(1, int(calls // per_invoice)),
        done=stats["done"],
        total=stats["total"],
    )
    waiting = dict(due.exclude(waiting_for="").values_list("id", "waiting_for"))
    queued = set(due.filter(queued_at__isnull=False).values_list("id", flat=True))
    labels = dict(InvoiceRecord.WaitingFor.choices)
    for position, (pk, _) in enumerate(line):
        if pk in queued:
            schedule.waits[pk] = Wait("Being booked now", None)
        elif pk in waiting:
            schedule.waits[pk] = Wait(f"Waits for {labels[waiting[pk]]}", schedule._eta(position))
        elif position == 0:
            schedule.waits[pk] = Wait("Next in line", schedule._eta(position))
        else:
            schedule.waits[pk] = Wait(f"After invoice {line[position - 1][1]}", schedule._eta(position))
    return schedule


def _pace(installation: Installation, now: datetime) -> tuple[float, float, datetime]:
    """(calls per window, window seconds, start of the next window with calls) from Exact's last headers."""
    from plugin.models import ExactConnection
    from sync.models import TenantQueue

    connection = ExactConnection.objects.filter(installation=installation).first()
    queue = TenantQueue.objects.filter(installation=installation).first()
    window = (queue and queue.window_seconds) or DEFAULT_WINDOW_SECONDS
    calls = (connection and connection.minutely_limit) or DEFAULT_CALLS_PER_WINDOW
    start = now - timedelta(seconds=window)  # budget left now: the first window is the current one
    if connection and connection.minutely_reset_at and connection.minutely_reset_at > now:
        if not connection.minutely_remaining:
            start = connection.minutely_reset_at - timedelta(seconds=window)
    if connection and connection.daily_reset_at and connection.daily_reset_at > now and connection.daily_remaining == 0:
        start = connection.daily_reset_at - timedelta(seconds=window)
    return float(calls), float(window), start


def _calls_per_invoice(installation: Installation) -> float:
    """Average Exact calls of this tenant's recent bookings (a typical booking before there are any)."""
    recent = SyncAttempt.objects.filter(
        invoice__installation=installation, outcome=SyncAttempt.Outcome.CREATED, exact_calls__gt=0
    ).order_by("-id")[:SCHEDULE_HISTORY]
    calls = list(recent.values_list("exact_calls", flat=True))
    return sum(calls) / len(calls) if calls else DEFAULT_CALLS_PER_INVOICE
