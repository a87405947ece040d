"""The dispatcher's statements (sync/services/invoice_dispatch.py decides; these read and write the schedule).

What is free, in flight and due; the tenants with due work; a tenant's queue row under its lock with its budget;
its line; the claim of a record for a task; a task's start and end. Each runs after every booking, so each is
built into SQL once per process (`sync/compiled_statement.py`) and run with the ids and moments of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)

from sync.compiled_statement import CompiledStatement
from sync.exact.budget import BUDGET_FIELDS
from sync.models import AccountLink, InvoiceRecord, TenantQueue

State = InvoiceRecord.State
# A sent task starts well within this with a bounded broker; after it, an unclaimed invoice's task is lost.
QUEUED_GRACE = timedelta(minutes=2)


def unsent_or_lost(now: datetime, stale: datetime) -> Q:
    """Records with no live task: none sent, or one sent a while ago whose invoice nobody holds.

    A task lost with a purged broker, or redelivered after its worker was killed mid-booking (it then finds
    the dead worker's claim and does not run), leaves `queued_at` set: once QUEUED_GRACE has passed and no
    claim holds the invoice (invoice_claim.py decides how long a dead worker's claim lasts), the invoice is
    sent again. A running task holds its claim, so it is never doubled.
    `stale`: now - QUEUED_GRACE, an argument of its own: a compiled statement takes moments as they are.
    """
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return Q(queued_at__isnull=True) | (Q(queued_at__lt=stale) & unclaimed)


def in_flight_q(now: datetime, stale: datetime) -> Q:
    return Q(queued_at__isnull=False) & ~unsent_or_lost(now, stale)


def records_due(now: datetime, stale: datetime):
    return InvoiceRecord.objects.filter(unsent_or_lost(now, stale), due_at__lte=now, installation__is_active=True)


# Each window's calls as Exact last announced them: what a window that has reset since holds.
WINDOW_LIMITS = (("minutely_reset_at", "minutely_limit"), ("daily_reset_at", "daily_limit"))
_LIMIT_FIELDS = tuple(limit for _, limit in WINDOW_LIMITS)
_BUDGET_COLUMNS = (*BUDGET_FIELDS, *_LIMIT_FIELDS)


# Tasks in flight per tenant, in one grouped query (the dispatcher runs after every task).
_IN_FLIGHT_PER_TENANT = CompiledStatement(
    lambda now, stale: (
        InvoiceRecord.objects.filter(in_flight_q(now, stale))
        .order_by()
        .values("installation_id")
        .annotate(tasks=Count("id"))
        .values_list("installation_id", "tasks")
    )
)


def _tenants_with_due_work(now: datetime, stale: datetime, first: int):
    """(tenant, most urgent priority, last served) of the tenants with due work not told to wait; `first` (0:
    none, no tenant has that id) is taken even while told to wait."""
    waiting = Q(installation__queue__wake_at__gt=now) & ~Q(installation_id=first)
    # order_by(): the model's default ordering would otherwise add a column to the GROUP BY.
    tenants = records_due(now, stale).exclude(waiting).order_by().values("installation_id")
    rows = tenants.annotate(urgent=Min("priority"), last=Max("installation__queue__last_dispatched_at"))
    return rows.values_list("installation_id", "urgent", "last")


_TENANTS = CompiledStatement(_tenants_with_due_work)


@dataclass
class LockedQueue:
    """A tenant's queue row as the dispatcher read it under its lock, with what the look at its line needs."""

    pk: int
    installation_id: int
    wake_at: datetime | None
    window_seconds: float | None
    last_minutely_reset_at: datetime | None
    tasks: int  # in flight
    reserved: int  # Exact calls kept for them
    throttled_until: datetime | None  # Eduframe's Retry-After
    budget: dict  # the stored Exact budget (BUDGET_FIELDS and the limits), the fields Exact told


_QUEUE_FIELDS = ("id", "installation_id", "wake_at", "window_seconds", "last_minutely_reset_at")


def locked_queue(installation_id: int, now: datetime) -> LockedQueue | None:
    """The tenant's queue row, locked (None: another dispatcher holds it), with all the look at its line needs
    in the same statement: its tasks in flight and the calls they keep, its stored Exact budget and Eduframe's
    Retry-After. Counted here, under the lock, where no other dispatcher sends for the tenant meanwhile."""
    rows = _LOCKED_QUEUE.run(installation_id, now, now - QUEUED_GRACE)
    if not rows:
        return None
    pk, installation, wake_at, window, last_reset, tasks, reserved, throttled_until, *budget = rows[0]
    told = {field: value for field, value in zip(_BUDGET_COLUMNS, budget, strict=True) if value is not None}
    return LockedQueue(
        pk, installation, wake_at, window, last_reset, tasks or 0, reserved or 0, throttled_until, budget=told
    )


def _queue_with_limits(installation_id: int, now: datetime, stale: datetime):
    in_flight = (
        InvoiceRecord.objects.filter(in_flight_q(now, stale), installation_id=OuterRef("installation_id"))
        .order_by()
        .values("installation_id")
    )
    budget = {field: F(f"installation__exact_connection__{field}") for field in _BUDGET_COLUMNS}
    # of=self: only the queue's row is locked (the connection is an outer join, which PostgreSQL cannot lock).
    locked = TenantQueue.objects.select_for_update(skip_locked=True, of=("self",))
    return (
        locked.filter(installation_id=installation_id)
        .annotate(
            tasks=Subquery(in_flight.annotate(n=Count("pk")).values("n")),
            reserved=Subquery(in_flight.annotate(calls=Sum("reserved_calls")).values("calls")),
            throttled_until=F("installation__eduframe_throttled_until"),
            **budget,
        )
        .values_list(*_QUEUE_FIELDS, "tasks", "reserved", "throttled_until", *_BUDGET_COLUMNS)
    )


_LOCKED_QUEUE = CompiledStatement(_queue_with_limits)


_SERVED = CompiledStatement(lambda pk, now: (TenantQueue.objects.filter(pk=pk), {"last_dispatched_at": now}))


def _with_estimate(records):
    """Records with what the estimate of their calls needs (no JSON columns).

    A record whose customer is not known yet (a webhook's invoice before its first read: the webhook names the
    invoice only) counts as a known customer's. Its booking reads the invoice and the account before any Exact
    call and checks the budget with what its account step really costs, so a new customer sent this way costs
    at most those reads again; counting every webhook's invoice as a new customer's (5 calls) would make a
    known customer's (3) wait for the next window whenever 3 or 4 calls are left in this one.
    """
    linked = AccountLink.objects.filter(
        installation_id=OuterRef("installation_id"), eduframe_account_id=OuterRef("eduframe_account_id")
    )
    known = Case(When(eduframe_account_id__isnull=True, then=Value(True)), default=Exists(linked))
    return records.annotate(known_customer=known)


@lru_cache(maxsize=8)
def _line(length: int) -> CompiledStatement:
    """The first `length` due records of a tenant in line: (id, trigger, known customer, in Exact)."""

    def first_in_line(installation_id: int, now: datetime, stale: datetime):
        due = records_due(now, stale).filter(installation_id=installation_id).order_by("priority", "due_at", "id")
        in_exact = Q(exact_entry_id__isnull=False)
        rows = _with_estimate(due).annotate(in_exact=ExpressionWrapper(in_exact, output_field=BooleanField()))
        return rows.values_list("id", "due_trigger", "known_customer", "in_exact")[:length]

    return CompiledStatement(first_in_line)


# Claim a due record for one task: the conditional UPDATE that sets `queued_at` (rows == 1 wins).
_CLAIM = CompiledStatement(
    lambda pk, now, stale, calls: (
        InvoiceRecord.objects.filter(unsent_or_lost(now, stale), pk=pk),
        {"queued_at": now, "waiting_for": InvoiceRecord.WaitingFor.NOTHING, "reserved_calls": calls},
    )
)


_STARTED = CompiledStatement(
    lambda pk: InvoiceRecord.objects.filter(pk=pk).order_by().values_list("due_at", "installation_id")
)


# Nobody asked meanwhile: the slot is freed and the record is due again only at the retry time it carries.
_FINISHED = CompiledStatement(
    lambda pk, seen: (
        InvoiceRecord.objects.filter(pk=pk, due_at=seen),
        {"queued_at": None, "due_at": Case(When(state=State.PENDING, then=F("next_retry_at")), default=None)},
    )
)


def in_flight_per_tenant(now: datetime) -> dict[int, int]:
    """Tasks in flight per tenant."""
    return dict(_IN_FLIGHT_PER_TENANT.run(now, now - QUEUED_GRACE))


def tenants_with_due_work(now: datetime, first: int | None) -> list[tuple[int, int, datetime | None]]:
    """(tenant, most urgent priority, last served) of the tenants with due work not told to wait, and `first`."""
    return _TENANTS.run(now, now - QUEUED_GRACE, first or 0)


def first_in_line(installation_id: int, now: datetime, length: int) -> list[tuple[int, str, bool, bool]]:
    """The tenant's first `length` due records: (id, trigger, known customer, in Exact)."""
    return _line(length).run(installation_id, now, now - QUEUED_GRACE)


def claim(record_id: int, now: datetime, calls: int) -> bool:
    """Claim the record for one task that keeps `calls` of its tenant's window; False: not free any more."""
    return _CLAIM.run(record_id, now, now - QUEUED_GRACE, calls) == 1


def waiting(installation_id: int, now: datetime):
    """The tenant's due records (to mark what they wait for)."""
    return records_due(now, now - QUEUED_GRACE).filter(installation_id=installation_id)


def served(queue_pk: int, now: datetime) -> None:
    """The tenant's turn was taken now (round-robin)."""
    _SERVED.run(queue_pk, now)


def task_started(record_id: int) -> tuple[datetime | None, int | None]:
    """The record's `due_at` and tenant as its task starts."""
    rows = _STARTED.run(record_id)
    return rows[0] if rows else (None, None)


def task_finished(record_id: int, due_at_seen: datetime) -> bool:
    """Free the slot and take the retry time the record carries, if nobody asked again meanwhile."""
    return _FINISHED.run(record_id, due_at_seen) > 0
