"""Reconciliation: the periodic scan that catches invoices whose webhook never arrived.

Eduframe has no "changed since" filter on invoices, so we list invoices and compare each one's `updated_at`
with what the record saw last. It costs what can change, not the tenant's whole history: every run lists
the open invoices only (new ones, and the ones whose payment or edit can still come); the settled ones
(paid, expired) are listed in a full scan once every RECONCILE_FULL_SCAN_HOURS, or when asked for a date.
Only what is new or changed is marked due (invoice_queue), in one go; the dispatcher sends it as budgets
allow, so a 5,000-invoice catch-up is 5,000 rows, not 5,000 tasks, and a rescan re-queues nothing waiting.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Avg, Count
from django.utils import timezone

from plugin.models import ExactConnection, Installation
from plugin.selectors import settings_get
from sync.models import AccountLink, InvoiceRecord, SyncAttempt, TenantQueue
from sync.services.invoice_queue import invoices_enqueue_listed

LISTED_STATUSES = ["open", "paid", "expired"]
CHANGING_STATUSES = ["open"]
# Re-looked at even when unchanged: still waiting, or skipped because of a `Sync from` that may have moved.
RESCAN_STATES = {InvoiceRecord.State.PENDING, InvoiceRecord.State.SKIPPED}

# Exact calls to book one invoice when we have too little history (bench/exact_calls_per_invoice.py): a known
# customer's costs the document, the attachment and the entry; a new customer's also the search and the account.
CALLS_NEW_CUSTOMER = 5
CALLS_KNOWN_CUSTOMER = 3
ENOUGH_ATTEMPTS = 20
DEFAULT_DAILY_LIMIT = 5000


@dataclass(frozen=True)
class SyncFromEstimate:
    invoices_added: int
    exact_calls: int
    days_of_budget: int


def installations_ready():
    """Active installations with a usable Exact connection and complete global settings."""
    return (
        Installation.objects.filter(
            is_active=True,
            exact_connection__status=ExactConnection.Status.CONNECTED,
            settings__division__isnull=False,
            settings__sync_from__isnull=False,
        )
        .exclude(exact_connection__refresh_token="")
        .exclude(settings__journal_code="")
        .exclude(settings__ledger_code="")
    )


def invoices_listed(*, installation: Installation, statuses: list[str] | None = None) -> Iterator:
    """The installation's invoices in Eduframe (every non-concept one by default), page by page."""
    from sync.connections.eduframe import eduframe_client
    from sync.eduframe.client import BACKGROUND_THROTTLE_WAIT

    with eduframe_client(installation, max_throttle_wait=BACKGROUND_THROTTLE_WAIT) as eduframe:
        yield from eduframe.iter_invoices(statuses=statuses or LISTED_STATUSES)


def _in_range(invoice, since: date | None) -> bool:
    # An invoice without a date is left to the worker, which knows how to explain skipping it.
    return since is None or invoice.opened_at is None or invoice.opened_at >= since


def _changed(invoice, updated_at) -> bool:
    return updated_at is None or invoice.updated_at is None or invoice.updated_at > updated_at


def _needs_sync(invoice, seen: tuple | None, now) -> bool:
    if seen is None:
        return True
    state, updated_at, retry_at, due_at = seen
    if due_at is not None and not _changed(invoice, updated_at):
        # Already waiting in the schedule: asking again would only cost the dispatcher a look.
        return False
    if state == InvoiceRecord.State.PENDING and retry_at is not None and retry_at > now:
        # Backing off after a temporary error (rate limit, outage): the retry scan sends it when due;
        # queueing it now would clear that time and spend the calls the backoff saves.
        return updated_at is not None and invoice.updated_at is not None and invoice.updated_at > updated_at
    return state in RESCAN_STATES or _changed(invoice, updated_at)


def _full_scan_due(installation: Installation, since: date | None, now) -> bool:
    if since is not None:
        return True
    last = TenantQueue.objects.filter(installation=installation).values_list("last_full_scan_at", flat=True).first()
    return last is None or last < now - timedelta(hours=settings.RECONCILE_FULL_SCAN_HOURS)


def installation_reconcile(
    *, installation: Installation, since: date | None = None, trigger: str = SyncAttempt.Trigger.RECONCILE
) -> int:
    """Mark due every listed invoice that is new or changed, and every booked one that vanished; return how many."""
    now = timezone.now()
    full = _full_scan_due(installation, since, now)
    since = since or settings_get(installation=installation).sync_from
    records = InvoiceRecord.objects.filter(installation=installation)
    fields = ("eduframe_invoice_id", "state", "eduframe_updated_at", "next_retry_at", "due_at")
    known = {row[0]: row[1:] for row in records.values_list(*fields)}
    listed: set[int] = set()
    to_sync: list = []
    statuses = LISTED_STATUSES if full else CHANGING_STATUSES
    for invoice in invoices_listed(installation=installation, statuses=statuses):
        listed.add(invoice.id)
        if _in_range(invoice, since) and _needs_sync(invoice, known.get(invoice.id), now):
            to_sync.append(invoice)
    vanished: list[int] = []
    if full:
        # Only concept invoices can be deleted; a booked one missing from the list is checked (404 -> deleted).
        booked = [ef_id for ef_id, (state, *_) in known.items() if state == InvoiceRecord.State.BOOKED]
        vanished = [ef_id for ef_id in booked if ef_id not in listed]
        TenantQueue.objects.update_or_create(installation=installation, defaults={"last_full_scan_at": now})
    return invoices_enqueue_listed(installation=installation, listed=to_sync, ids=vanished, trigger=trigger)


def _calls_per_invoice_from_history(installation: Installation) -> float | None:
    """The average Exact calls of this installation's bookings, once there are enough of them."""
    stats = SyncAttempt.objects.filter(
        invoice__installation=installation, outcome=SyncAttempt.Outcome.CREATED, exact_calls__gt=0
    ).aggregate(n=Count("id"), avg=Avg("exact_calls"))
    return stats["avg"] if stats["n"] >= ENOUGH_ATTEMPTS else None


def _invoices_to_add(installation: Installation, new_date: date, current: date) -> list:
    booked = set(
        InvoiceRecord.objects.filter(installation=installation, state=InvoiceRecord.State.BOOKED).values_list(
            "eduframe_invoice_id", flat=True
        )
    )
    return [
        invoice
        for invoice in invoices_listed(installation=installation)
        if invoice.opened_at and new_date <= invoice.opened_at < current and invoice.id not in booked
    ]


def _estimate_calls(installation: Installation, invoices: list) -> int:
    average = _calls_per_invoice_from_history(installation)
    if average is not None:
        return math.ceil(average * len(invoices))
    known = set(AccountLink.objects.filter(installation=installation).values_list("eduframe_account_id", flat=True))
    calls = 0
    for invoice in invoices:
        calls += CALLS_KNOWN_CUSTOMER if invoice.account_id in known else CALLS_NEW_CUSTOMER
        known.add(invoice.account_id)
    return calls


def sync_from_estimate(*, installation: Installation, new_date: date) -> SyncFromEstimate:
    """Estimate what an earlier `Sync from` adds: invoices to book, Exact calls, days of the daily budget."""
    current = settings_get(installation=installation).sync_from
    # No current date means everything is already in scope; a later date adds nothing.
    if current is None or new_date >= current:
        return SyncFromEstimate(invoices_added=0, exact_calls=0, days_of_budget=0)
    invoices = _invoices_to_add(installation, new_date, current)
    calls = _estimate_calls(installation, invoices)
    connection = ExactConnection.objects.filter(installation=installation).first()
    daily_limit = (connection and connection.daily_limit) or DEFAULT_DAILY_LIMIT
    return SyncFromEstimate(
        invoices_added=len(invoices), exact_calls=calls, days_of_budget=math.ceil(calls / daily_limit)
    )
