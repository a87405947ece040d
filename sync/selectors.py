"""Reads of the sync log and status, for the log page, the admin and the `sync_status` command."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

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
