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
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sync.errors import WAIT_EDUFRAME
from sync.exact.budget import budget_deferral
from sync.models import InvoiceRecord, SyncAttempt, TenantQueue
from sync.services import dispatch_statements as sql

logger = logging.getLogger(__name__)
State, Priority = InvoiceRecord.State, InvoiceRecord.Priority

# Exact calls the cheapest booking of a record needs (see booking_calls_estimate): a record not in Exact yet
# needs its document, attachment and entry, plus a search and a new account for a customer not known yet
# (a known customer's account costs nothing unless Eduframe changed it: the booking itself checks that, with
# the account's fields in hand); one already booked at least one call, or none when unchanged.
CALLS_NEW_ENTRY = 3
CALLS_NEW_ACCOUNT = 2
CALLS_CHANGED_ENTRY = 1
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


def invoices_dispatch(*, installation_id: int | None = None) -> int:
    """Send due work to the broker within the slots and budgets; return the tasks sent.

    `installation_id`: the tenant the dispatch is about (a request for it, or its task's end): looked at even
    while told to wait, and first among the tenants of its priority.
    """
    now = timezone.now()
    busy = sql.in_flight_per_tenant(now)
    room = settings.SYNC_TASKS_IN_FLIGHT - sum(busy.values())
    sent = 0
    for tenant in _tenants_in_turn(now, first=installation_id) if room > 0 else []:
        if sent >= room:
            break
        # A tenant whose slots are all taken is skipped without its lock: its running task ends with a dispatch.
        if busy.get(tenant, 0) < settings.SYNC_TASKS_PER_TENANT:
            sent += _tenant_dispatch(tenant, now, limit=room - sent)
    return sent


def _tenants_in_turn(now: datetime, *, first: int | None) -> list[int]:
    """Tenants with due work in turn: those with new or changed invoices first (a webhook's invoice does not
    queue behind other tenants' catch-up, nor behind the next catch-up booking of the tenant whose task just
    ended), then the others; in each group `first`, then round-robin (served longest ago first).

    A tenant told to wait (its budget spent, or Eduframe's Retry-After) is left out until that moment: nothing
    but its own work's end (it frees the calls its task reserved) or a request about it (`first` then) can
    let it send sooner, and under load it is most tenants, each of them a locked look at its line after every
    task. One grouped query: per tenant its most urgent priority and when it was last served.
    """
    rows = sql.tenants_with_due_work(now, first)
    never = datetime.min.replace(tzinfo=now.tzinfo)

    def turn(row: tuple) -> tuple:
        tenant, urgent, last = row
        return (urgent != Priority.CHANGED, tenant != first, last or never, tenant)

    return [row[0] for row in sorted(rows, key=turn)]


def _tenant_dispatch(installation_id: int, now: datetime, *, limit: int) -> int:
    for _ in range(2):
        with transaction.atomic():
            # One dispatcher per tenant at a time; another process busy with this tenant does its work.
            queue = sql.locked_queue(installation_id, now)
            if queue is not None:
                return _dispatch_locked(queue, now, limit=limit)
        # Held by another dispatcher, or the tenant's first dispatch: its row is made once, then locked.
        if not TenantQueue.objects.get_or_create(installation_id=installation_id)[1]:
            return 0
    return 0


def _dispatch_locked(queue: sql.LockedQueue, now: datetime, *, limit: int) -> int:
    """Under the tenant's lock: fill its free slots while its budget holds the calls of its tasks in flight."""
    slots = min(limit, settings.SYNC_TASKS_PER_TENANT - queue.tasks)
    if slots <= 0:
        return 0
    picked = _pick(queue, now, slots, reserved=queue.reserved)
    if picked:
        sql.served(queue.pk, now)
    for record_id, trigger in picked:
        transaction.on_commit(partial(_send, record_id, trigger))
    return len(picked)


def _new_windows_hold(budget: dict, calls: int, now: datetime) -> bool:
    """Whether the windows whose announced reset has passed (counted afresh, at their limit) hold `calls`."""
    for reset_field, limit_field in sql.WINDOW_LIMITS:
        reset, limit = budget.get(reset_field), budget.get(limit_field)
        if (reset is None or reset <= now) and limit is not None and calls > limit:
            return False
    return True


def _pick(queue: sql.LockedQueue, now: datetime, slots: int, *, reserved: int) -> list[tuple[int, str]]:
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
    for record_id, trigger, known_customer, in_exact in sql.first_in_line(installation_id, now, slots * 4):
        calls = booking_calls_estimate(in_exact=in_exact, known_customer=known_customer)
        deferral = budget_deferral(budget, calls=reserved + calls, now=now)
        if deferral is not None:
            _wait(installation_id, now, queue, deferral.not_before, deferral.waiting_for)
            break
        if reserved and not _new_windows_hold(budget, reserved + calls, now):
            break  # a window just reset, and the tasks in flight take it: the first to end dispatches again
        if sql.claim(record_id, now, calls):
            picked.append((record_id, trigger or SyncAttempt.Trigger.RETRY))
            reserved += calls
        if len(picked) >= slots:
            break
    return picked


def _wait(installation_id: int, now: datetime, queue: sql.LockedQueue, until: datetime, waiting_for: str) -> None:
    """Show what the tenant's due work waits for and from when it may run (the next dispatch after it sends)."""
    sql.waiting(installation_id, now).exclude(waiting_for=waiting_for).update(waiting_for=waiting_for)
    if queue.wake_at != until:
        TenantQueue.objects.filter(pk=queue.pk).update(wake_at=until)


def _learn_window(queue: sql.LockedQueue, reset: datetime | None) -> None:
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
    return sql.task_started(record_id)


def invoice_task_finished(*, record_id: int, due_at_seen) -> None:
    """Free the record's task slot and set its next due moment from what the sync left on the record.

    Pending with a retry time (a budget's reset, a backoff): due then. Otherwise done, unless someone asked
    again while the task ran (`due_at` moved): then it stays due and is sent once more. The usual case (nobody
    asked meanwhile) is one conditional UPDATE that reads the retry time from the row itself.
    """
    if due_at_seen and sql.task_finished(record_id, due_at_seen):
        return
    row = InvoiceRecord.objects.filter(pk=record_id).values("state", "next_retry_at").first()
    if row is None:
        return
    if row["state"] == State.PENDING and row["next_retry_at"] is not None:
        # A retry time the booking set must not be lost when the schedule moved meanwhile.
        InvoiceRecord.objects.filter(pk=record_id, due_at__isnull=True).update(due_at=row["next_retry_at"])
    InvoiceRecord.objects.filter(pk=record_id).update(queued_at=None)


def webhook_event_request(*, event_id: int) -> None:
    """Have a stored webhook processed (after the commit); it marks its invoice due through invoice_queue."""
    from sync.tasks import process_webhook_event_task

    transaction.on_commit(lambda: process_webhook_event_task.delay(event_id))


def reconcile_request(*, installation_id: int, since: str | None = None) -> None:
    """Ask for one installation's reconciliation (after the commit)."""
    from sync.tasks import reconcile_installation_task

    transaction.on_commit(lambda: reconcile_installation_task.delay(installation_id, since))
