"""Put invoices in the queue: upsert the record, mark it pending, enqueue the sync task after commit.

Every trigger (webhook, reconciliation, retry scan, settings change, UI, admin) goes through
`invoice_enqueue`, so there is one place that decides what "queued" means. A booked record stays booked
here: only the worker, after re-fetching the invoice, decides whether its entry changes or goes away.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from plugin.models import Installation
from sync.models import InvoiceRecord

State = InvoiceRecord.State
ErrorKind = InvoiceRecord.ErrorKind

# After a task gave up (retries exhausted, time limit, crash), the retry scan tries again this much later.
FINAL_FAILURE_RETRY_DELAY = timedelta(minutes=30)
# A pending invoice untouched this long, with no retry planned, is queued again (see `_lost_task`).
LOST_TASK_AFTER = timedelta(hours=6)


def _enqueue_on_commit(record_ids: list[int], trigger: str) -> None:
    """Send one sync task per record once the surrounding transaction has committed."""
    # Imported here: tasks import the services, not the other way round at import time.
    from sync.tasks import sync_invoice_task

    for record_id in record_ids:
        transaction.on_commit(lambda record_id=record_id: sync_invoice_task.delay(record_id, trigger))


def _mark_pending(queryset, **extra) -> int:
    """Set the records pending (booked ones excluded) and clear what belonged to the previous try."""
    return queryset.exclude(state=State.BOOKED).update(
        state=State.PENDING, error_kind=ErrorKind.NONE, next_retry_at=None, updated_at=timezone.now(), **extra
    )


def invoice_enqueue(
    *, installation: Installation, eduframe_invoice_id: int, trigger: str, deleted: bool = False
) -> InvoiceRecord:
    """Upsert the invoice's record, mark it pending unless booked, and enqueue its sync on commit."""
    # get_or_create survives the unique-constraint race (two webhooks at once): the loser re-reads the row.
    record, created = InvoiceRecord.objects.get_or_create(
        installation=installation, eduframe_invoice_id=eduframe_invoice_id
    )
    if deleted or not created:
        # A booked record is left alone: the worker re-fetches, finds the 404 or the change, and decides.
        extra = {"reason": "Deleted in Eduframe."} if deleted else {}
        _mark_pending(InvoiceRecord.objects.filter(pk=record.pk), **extra)
        record.refresh_from_db()
    _enqueue_on_commit([record.pk], trigger)
    return record


def invoice_requeue(*, record_id: int, trigger: str) -> None:
    """Send the record's sync task once more (after commit), leaving the record as it is."""
    _enqueue_on_commit([record_id], trigger)


def _attention_queryset(installation: Installation):
    return InvoiceRecord.objects.filter(installation=installation).filter(
        Q(state=State.NEEDS_ATTENTION) | Q(state=State.PENDING, error_kind__in=[ErrorKind.AUTH, ErrorKind.FUNCTIONAL])
    )


def invoices_retry_attention(*, installation: Installation, trigger: str) -> int:
    """Re-queue every invoice that needs attention or waits for a fix or a reconnect; return how many."""
    with transaction.atomic():
        ids = list(_attention_queryset(installation).select_for_update().values_list("pk", flat=True))
        # Clearing error_kind makes a second scan in the same burst (several settings saved) a no-op.
        _mark_pending(InvoiceRecord.objects.filter(pk__in=ids))
        _enqueue_on_commit(ids, trigger)
    return len(ids)


def invoices_enqueue_due_retries() -> int:
    """Enqueue every pending invoice whose backoff has passed, and any whose task was lost, across installations."""
    now = timezone.now()
    with transaction.atomic():
        due = InvoiceRecord.objects.select_for_update(of=("self",)).filter(
            Q(next_retry_at__lte=now) | _lost_task(now), state=State.PENDING, installation__is_active=True
        )
        ids = list(due.values_list("pk", flat=True))
        # Clearing next_retry_at (and touching updated_at) keeps the next scan from sending them again meanwhile.
        InvoiceRecord.objects.filter(pk__in=ids).update(next_retry_at=None, updated_at=now)
        _enqueue_on_commit(ids, "retry")
    return len(ids)


def _lost_task(now) -> Q:
    """Queued long ago, not waiting for a retry or a reconnect, not being booked: its task must have been lost.

    A broker restart or a purged queue must not leave an invoice pending for ever. The wait is long because
    a large backfill legitimately queues invoices for hours behind Exact's 60 calls a minute.
    """
    return Q(
        next_retry_at__isnull=True,
        error_kind=ErrorKind.NONE,
        updated_at__lt=now - LOST_TASK_AFTER,
    ) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def invoice_record_task_failure(*, record_id: int, message: str, retryable: bool) -> None:
    """Record that the sync task gave up on an invoice, so the log says so and nothing waits silently."""
    if retryable:
        # Retries used up or out of time: the retry scan tries again later.
        changes = {"state": State.PENDING, "error_kind": ErrorKind.RETRYABLE}
        changes["next_retry_at"] = timezone.now() + FINAL_FAILURE_RETRY_DELAY
        reason = f"The sync did not finish and is tried again later: {message}"
    else:
        # A bug: retrying on a timer would fail the same way; an operator retries it after the fix.
        changes = {"state": State.NEEDS_ATTENTION, "error_kind": ErrorKind.NONE, "next_retry_at": None}
        reason = f"The sync stopped on an unexpected error; retry it once the cause is fixed: {message}"
    InvoiceRecord.objects.filter(pk=record_id).exclude(state=State.BOOKED).update(
        reason=reason, updated_at=timezone.now(), **changes
    )
