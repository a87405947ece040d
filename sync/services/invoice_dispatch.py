"""The one way into the broker: hand due invoices to the workers, fairly, within each tenant's budget.

The database holds the schedule (InvoiceRecord.due_at / queued_at / priority). The dispatcher:
- sends at most one task per invoice: a record is sent only by the conditional UPDATE that sets its
  `queued_at` (rows == 1 wins), and `queued_at` is cleared when its task ends;
- gives each tenant at most `SYNC_TASKS_PER_TENANT` tasks at once and everybody together at most
  `SYNC_TASKS_IN_FLIGHT`, taking tenants round-robin (the one dispatched longest ago first), so the
  broker's depth is bounded by worker slots and tenants, never by a backlog;
- sends nothing for a tenant whose Exact budget (from Exact's headers, shared by every process) or
  Eduframe Retry-After forbids it: it marks what the work waits for and when it may run (TenantQueue.wake_at,
  the reset Exact announced); no worker ever sleeps on a budget.
It runs after every request (on commit), after every sync task (so under load a reset is taken up within
one booking's time), and on beat every RETRY_SCAN_EVERY_SECONDS (a lone tenant's reset, retries that came
due, a task lost with a purged broker). No wake-up is sent with an ETA: a worker holding an ETA task on
Redis with prefetch 1 fetches nothing else until it runs, which is the sleeping worker again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial

from django.conf import settings
from django.db import transaction
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
from django.utils import timezone

from sync.compiled_statement import CompiledStatement
from sync.errors import WAIT_EDUFRAME
from sync.exact.budget import BUDGET_FIELDS, budget_deferral
from sync.models import AccountLink, InvoiceRecord, SyncAttempt, TenantQueue

logger = logging.getLogger(__name__)
State, Priority = InvoiceRecord.State, InvoiceRecord.Priority

# Exact calls the cheapest booking of a record needs (see booking_calls_estimate): a record not in Exact yet
# needs its document, attachment and entry, plus a search and a new account for a customer not known yet
# (a known customer's account costs nothing unless Eduframe changed it: the booking itself checks that, with
# the account's fields in hand); one already booked at least one call, or none when unchanged.
CALLS_NEW_ENTRY = 3
CALLS_NEW_ACCOUNT = 2
CALLS_CHANGED_ENTRY = 1
# A sent task starts well within this with a bounded broker; after it, an unclaimed invoice's task is lost.
QUEUED_GRACE = timedelta(minutes=2)
# Redis: 0 is served first, 9 last (kombu's priority steps 0, 3, 6, 9); other brokers ignore it.
CATCH_UP_TASK_PRIORITY = 9


def booking_calls_estimate(*, in_exact: bool, known_customer: bool, account_calls: int | None = None) -> int:
    """The Exact calls a booking of a record costs at least: sent only when the budget holds them.

    `in_exact`: the record has its entry in Exact already. `account_calls`: what the account step will cost,
    when the caller knows (the booking, with the account's fields in hand); else 0 for a known customer (the
    usual case: unchanged since last sent) and a search and a new account for one not known yet.
    """
    if in_exact:
        return CALLS_CHANGED_ENTRY
    if account_calls is None:
        account_calls = 0 if known_customer else CALLS_NEW_ACCOUNT
    return CALLS_NEW_ENTRY + account_calls


def _free(now: datetime, stale: datetime) -> Q:
    """Records with no live task: none sent, or one sent a while ago whose invoice nobody holds.

    A task lost with a purged broker, or redelivered after its worker was killed mid-booking (it then finds
    the dead worker's claim and does not run), leaves `queued_at` set: once QUEUED_GRACE has passed and no
    claim holds the invoice (invoice_claim.py decides how long a dead worker's claim lasts), the invoice is
    sent again. A running task holds its claim, so it is never doubled.
    `stale`: now - QUEUED_GRACE (an argument of its own: the compiled statements take moments as they are).
    """
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return Q(queued_at__isnull=True) | (Q(queued_at__lt=stale) & unclaimed)


def _in_flight(now: datetime, stale: datetime) -> Q:
    return Q(queued_at__isnull=False) & ~_free(now, stale)


def _due(now: datetime, stale: datetime):
    return InvoiceRecord.objects.filter(_free(now, stale), due_at__lte=now, installation__is_active=True)


def invoices_dispatch(*, installation_id: int | None = None) -> int:
    """Send due work to the broker within the slots and budgets; return the tasks sent.

    `installation_id`: the tenant the dispatch is about (a request for it, or its task's end): looked at even
    while told to wait, and first among the tenants of its priority.
    """
    now = timezone.now()
    busy = dict(_IN_FLIGHT_PER_TENANT.run(now, now - QUEUED_GRACE))
    room = settings.SYNC_TASKS_IN_FLIGHT - sum(busy.values())
    sent = 0
    for tenant in _tenants_in_turn(now, first=installation_id) if room > 0 else []:
        if sent >= room:
            break
        # A tenant whose slots are all taken is skipped without its lock: its running task ends with a dispatch.
        if busy.get(tenant, 0) < settings.SYNC_TASKS_PER_TENANT:
            sent += _tenant_dispatch(tenant, now, limit=room - sent)
    return sent


# Tasks in flight per tenant, in one grouped query (the dispatcher runs after every task).
_IN_FLIGHT_PER_TENANT = CompiledStatement(
    lambda now, stale: (
        InvoiceRecord.objects.filter(_in_flight(now, stale))
        .order_by()
        .values("installation_id")
        .annotate(tasks=Count("id"))
        .values_list("installation_id", "tasks")
    )
)


def _tenants_in_turn(now: datetime, *, first: int | None) -> list[int]:
    """Tenants with due work in turn: those with new or changed invoices first (a webhook's invoice does not
    queue behind other tenants' catch-up, nor behind the next catch-up booking of the tenant whose task just
    ended), then the others; in each group `first`, then round-robin (served longest ago first).

    A tenant told to wait (its budget spent, or Eduframe's Retry-After) is left out until that moment: nothing
    but its own work's end (it frees the calls its task reserved) or a request about it (`first` then) can
    let it send sooner, and under load it is most tenants, each of them a locked look at its line after every
    task. One grouped query: per tenant its most urgent priority and when it was last served.
    """
    rows = _TENANTS.run(now, now - QUEUED_GRACE, first or 0)
    never = datetime.min.replace(tzinfo=now.tzinfo)

    def turn(row: tuple) -> tuple:
        tenant, urgent, last = row
        return (urgent != Priority.CHANGED, tenant != first, last or never, tenant)

    return [row[0] for row in sorted(rows, key=turn)]


def _tenants_with_due_work(now: datetime, stale: datetime, first: int):
    """(tenant, most urgent priority, last served) of the tenants with due work not told to wait; `first` (0:
    none, no tenant has that id) is taken even while told to wait."""
    waiting = Q(installation__queue__wake_at__gt=now) & ~Q(installation_id=first)
    # order_by(): the model's default ordering would otherwise add a column to the GROUP BY.
    tenants = _due(now, stale).exclude(waiting).order_by().values("installation_id")
    rows = tenants.annotate(urgent=Min("priority"), last=Max("installation__queue__last_dispatched_at"))
    return rows.values_list("installation_id", "urgent", "last")


_TENANTS = CompiledStatement(_tenants_with_due_work)


def _tenant_dispatch(installation_id: int, now: datetime, *, limit: int) -> int:
    for _ in range(2):
        with transaction.atomic():
            # One dispatcher per tenant at a time; another process busy with this tenant does its work.
            queue = _locked_queue(installation_id, now)
            if queue is not None:
                return _dispatch_locked(queue, now, limit=limit)
        # Held by another dispatcher, or the tenant's first dispatch: its row is made once, then locked.
        if not TenantQueue.objects.get_or_create(installation_id=installation_id)[1]:
            return 0
    return 0


@dataclass
class _LockedQueue:
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


def _locked_queue(installation_id: int, now: datetime) -> _LockedQueue | None:
    """The tenant's queue row, locked (None: another dispatcher holds it), with all the look at its line needs
    in the same statement: its tasks in flight and the calls they keep, its stored Exact budget and Eduframe's
    Retry-After. Counted here, under the lock, where no other dispatcher sends for the tenant meanwhile."""
    rows = _LOCKED_QUEUE.run(installation_id, now, now - QUEUED_GRACE)
    if not rows:
        return None
    pk, installation, wake_at, window, last_reset, tasks, reserved, throttled_until, *budget = rows[0]
    told = {field: value for field, value in zip(_BUDGET_COLUMNS, budget, strict=True) if value is not None}
    return _LockedQueue(
        pk, installation, wake_at, window, last_reset, tasks or 0, reserved or 0, throttled_until, budget=told
    )


def _queue_with_limits(installation_id: int, now: datetime, stale: datetime):
    in_flight = (
        InvoiceRecord.objects.filter(_in_flight(now, stale), installation_id=OuterRef("installation_id"))
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


def _dispatch_locked(queue: _LockedQueue, now: datetime, *, limit: int) -> int:
    """Under the tenant's lock: fill its free slots while its budget holds the calls of its tasks in flight."""
    slots = min(limit, settings.SYNC_TASKS_PER_TENANT - queue.tasks)
    if slots <= 0:
        return 0
    picked = _pick(queue, now, slots, reserved=queue.reserved)
    if picked:
        _SERVED.run(queue.pk, now)
    for record_id, trigger in picked:
        transaction.on_commit(partial(_send, record_id, trigger))
    return len(picked)


_SERVED = CompiledStatement(lambda pk, now: (TenantQueue.objects.filter(pk=pk), {"last_dispatched_at": now}))


# Each window's calls as Exact last announced them: what a window that has reset since holds.
_WINDOW_LIMITS = (("minutely_reset_at", "minutely_limit"), ("daily_reset_at", "daily_limit"))
_LIMIT_FIELDS = tuple(limit for _, limit in _WINDOW_LIMITS)
_BUDGET_COLUMNS = (*BUDGET_FIELDS, *_LIMIT_FIELDS)


def _new_windows_hold(budget: dict, calls: int, now: datetime) -> bool:
    """Whether the windows whose announced reset has passed (counted afresh, at their limit) hold `calls`."""
    for reset_field, limit_field in _WINDOW_LIMITS:
        reset, limit = budget.get(reset_field), budget.get(limit_field)
        if (reset is None or reset <= now) and limit is not None and calls > limit:
            return False
    return True


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
    """The first `length` due records of a tenant in line: (id, in Exact, trigger, known customer)."""

    def line(installation_id: int, now: datetime, stale: datetime):
        due = _due(now, stale).filter(installation_id=installation_id).order_by("priority", "due_at", "id")
        in_exact = Q(exact_entry_id__isnull=False)
        rows = _with_estimate(due).annotate(in_exact=ExpressionWrapper(in_exact, output_field=BooleanField()))
        return rows.values_list("id", "due_trigger", "known_customer", "in_exact")[:length]

    return CompiledStatement(line)


# Claim a due record for one task: the conditional UPDATE that sets `queued_at` (rows == 1 wins).
_CLAIM = CompiledStatement(
    lambda pk, now, stale, calls: (
        InvoiceRecord.objects.filter(_free(now, stale), pk=pk),
        {"queued_at": now, "waiting_for": InvoiceRecord.WaitingFor.NOTHING, "reserved_calls": calls},
    )
)


def _pick(queue: _LockedQueue, now: datetime, slots: int, *, reserved: int) -> list[tuple[int, str]]:
    """Claim up to `slots` due records of the tenant, in line, while its budgets hold their calls.

    The budget Exact last announced must hold, besides the record's own calls, those of the tenant's tasks in
    flight (`reserved`: their estimates, whole; a task still in the broker has spent none of them, a running one
    is counted on the safe side) and of the records picked before in this pass. Two bookings sent against the
    same calls would stop half-way, or be sent only to be deferred after their Eduframe calls. A window whose
    announced reset has passed holds its limit (the headers tell it); its first booking is sent whatever its
    estimate, as before.
    """
    installation_id, budget, throttled = queue.installation_id, queue.budget, queue.throttled_until
    _learn_window(queue, budget.get("minutely_reset_at"))
    if throttled and throttled > now:
        _wait(installation_id, now, queue, throttled, WAIT_EDUFRAME)
        return []
    picked: list[tuple[int, str]] = []
    for record_id, trigger, known_customer, in_exact in _line(slots * 4).run(installation_id, now, now - QUEUED_GRACE):
        calls = booking_calls_estimate(in_exact=in_exact, known_customer=known_customer)
        deferral = budget_deferral(budget, calls=reserved + calls, now=now)
        if deferral is not None:
            _wait(installation_id, now, queue, deferral.not_before, deferral.waiting_for)
            break
        if reserved and not _new_windows_hold(budget, reserved + calls, now):
            break  # a window just reset, and the tasks in flight take it: the first to end dispatches again
        if _CLAIM.run(record_id, now, now - QUEUED_GRACE, calls) == 1:
            picked.append((record_id, trigger or SyncAttempt.Trigger.RETRY))
            reserved += calls
        if len(picked) >= slots:
            break
    return picked


def _wait(installation_id: int, now: datetime, queue: _LockedQueue, until: datetime, waiting_for: str) -> None:
    """Show what the tenant's due work waits for and from when it may run (the next dispatch after it sends)."""
    _due(now, now - QUEUED_GRACE).filter(installation_id=installation_id).exclude(waiting_for=waiting_for).update(
        waiting_for=waiting_for
    )
    if queue.wake_at != until:
        TenantQueue.objects.filter(pk=queue.pk).update(wake_at=until)


def _learn_window(queue: _LockedQueue, reset: datetime | None) -> None:
    """Remember the length of Exact's rate-limit window from two successive resets it announced."""
    previous = queue.last_minutely_reset_at
    if reset is None or reset == previous:
        return
    changes: dict = {"last_minutely_reset_at": reset}
    if previous is not None and reset > previous:
        gap = (reset - previous).total_seconds()
        # Idle windows make a gap a multiple of the window: the smallest gap seen is the window.
        if queue.window_seconds is None or gap < queue.window_seconds:
            changes["window_seconds"] = gap
    TenantQueue.objects.filter(pk=queue.pk).update(**changes)


def _send(record_id: int, trigger: str) -> None:
    """Send the task; catch-up work at a lower broker priority, so that a webhook's invoice (and the webhook's
    own task) never waits behind the tasks of other tenants' catch-up (Redis serves priorities in order)."""
    from sync.tasks import sync_invoice_task

    if trigger == SyncAttempt.Trigger.RECONCILE:
        sync_invoice_task.apply_async(args=(record_id, trigger), priority=CATCH_UP_TASK_PRIORITY)
    else:
        sync_invoice_task.delay(record_id, trigger)


def invoice_task_started(*, record_id: int) -> tuple[datetime | None, int | None]:
    """The `due_at` a task found when it started (compared when it ends, to see whether someone asked again),
    and the record's tenant (the dispatch at the task's end is about it: its reserved calls are free again)."""
    rows = _STARTED.run(record_id)
    return rows[0] if rows else (None, None)


_STARTED = CompiledStatement(
    lambda pk: InvoiceRecord.objects.filter(pk=pk).order_by().values_list("due_at", "installation_id")
)


def invoice_task_finished(*, record_id: int, due_at_seen) -> None:
    """Free the record's task slot and set its next due moment from what the sync left on the record.

    Pending with a retry time (a budget's reset, a backoff): due then. Otherwise done, unless someone asked
    again while the task ran (`due_at` moved): then it stays due and is sent once more. The usual case (nobody
    asked meanwhile) is one conditional UPDATE that reads the retry time from the row itself.
    """
    if due_at_seen and _FINISHED.run(record_id, due_at_seen):
        return
    row = InvoiceRecord.objects.filter(pk=record_id).values("state", "next_retry_at").first()
    if row is None:
        return
    if row["state"] == State.PENDING and row["next_retry_at"] is not None:
        # A retry time the booking set must not be lost when the schedule moved meanwhile.
        InvoiceRecord.objects.filter(pk=record_id, due_at__isnull=True).update(due_at=row["next_retry_at"])
    InvoiceRecord.objects.filter(pk=record_id).update(queued_at=None)


# Nobody asked meanwhile: the slot is freed and the record is due again only at the retry time it carries.
_FINISHED = CompiledStatement(
    lambda pk, seen: (
        InvoiceRecord.objects.filter(pk=pk, due_at=seen),
        {"queued_at": None, "due_at": Case(When(state=State.PENDING, then=F("next_retry_at")), default=None)},
    )
)


def webhook_event_request(*, event_id: int) -> None:
    """Have a stored webhook processed (after the commit); it marks its invoice due through invoice_queue."""
    from sync.tasks import process_webhook_event_task

    transaction.on_commit(lambda: process_webhook_event_task.delay(event_id))


def reconcile_request(*, installation_id: int, since: str | None = None) -> None:
    """Ask for one installation's reconciliation (after the commit)."""
    from sync.tasks import reconcile_installation_task

    transaction.on_commit(lambda: reconcile_installation_task.delay(installation_id, since))
