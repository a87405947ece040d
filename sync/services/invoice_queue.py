"""Ask for invoices to be synced: upsert the record and mark it due in the database; the dispatcher sends it.

Every trigger (webhook, reconciliation, settings change, UI, admin, command) asks here, so there is one
place that decides what "queued" means. Asking never sends a task itself: it writes `due_at` (and the
priority and trigger), and after the commit the dispatcher (invoice_dispatch.py) hands due work to the broker
within each tenant's budget, at most one task per invoice. Asking twice, from anywhere, is one sync.
A booked record stays booked here: only the worker, after re-fetching the invoice, decides what changes.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from plugin.models import Installation
from sync.models import InvoiceRecord, SyncAttempt

State = InvoiceRecord.State
ErrorKind = InvoiceRecord.ErrorKind
Priority = InvoiceRecord.Priority

# After a task gave up (time limit, crash), the dispatcher takes the invoice again this much later.
FINAL_FAILURE_RETRY_DELAY = timedelta(minutes=30)


def _dispatch_on_commit(installation_id: int) -> None:
    """After the commit, let the dispatcher send what became due (the asking tenant first)."""
    from sync.services.invoice_dispatch import invoices_dispatch

    transaction.on_commit(lambda: invoices_dispatch(installation_id=installation_id))


def _priority_for(trigger: str) -> int:
    """Catch-up work (reconciliation) waits behind new and changed invoices of the same tenant."""
    return Priority.CATCH_UP if trigger == SyncAttempt.Trigger.RECONCILE else Priority.CHANGED


def invoices_mark_due(queryset, *, trigger: str, **extra) -> int:
    """Mark the records due now; pending ones forget what belonged to their previous try. Return how many.

    A record already due keeps its place in line; one whose task is running gets a new `due_at`, which tells
    that task, when it ends, that someone asked again meanwhile (so it is synced once more, with newer data).
    """
    now = timezone.now()
    fields: dict[str, object] = {"due_trigger": trigger, "waiting_for": ""}
    if _priority_for(trigger) == Priority.CHANGED:
        # A change overtakes the catch-up; catch-up never demotes a change already waiting.
        fields["priority"] = Priority.CHANGED
    else:
        queryset.filter(due_at__isnull=True).update(priority=Priority.CATCH_UP)
    queryset.filter(Q(due_at__isnull=True) | Q(due_at__gt=now) | Q(queued_at__isnull=False)).update(due_at=now)
    queryset.filter(state=State.BOOKED).update(**fields)
    return queryset.exclude(state=State.BOOKED).update(
        state=State.PENDING, error_kind=ErrorKind.NONE, next_retry_at=None, updated_at=now, **fields, **extra
    )


def invoice_enqueue(
    *,
    installation: Installation,
    eduframe_invoice_id: int,
    trigger: str,
    deleted: bool = False,
    listing=None,
) -> InvoiceRecord:
    """Upsert the invoice's record, mark it due, and let the dispatcher send it after the commit.

    `listing` (an Eduframe invoice from a list) fills in the headline of a record never synced yet, so the
    sync log shows number, account, date and amount while the invoice waits.
    """
    # get_or_create survives the unique-constraint race (two webhooks at once): the loser re-reads the row.
    record, created = InvoiceRecord.objects.get_or_create(
        installation=installation, eduframe_invoice_id=eduframe_invoice_id
    )
    extra = {"reason": "Deleted in Eduframe."} if deleted else {}
    if created and listing is not None:
        extra.update(_headline(listing))
    invoices_mark_due(InvoiceRecord.objects.filter(pk=record.pk), trigger=trigger, **extra)
    record.refresh_from_db()
    _dispatch_on_commit(installation.pk)
    return record


def invoices_enqueue_listed(*, installation: Installation, listed: list, ids: list[int], trigger: str) -> int:
    """Mark due, in one go, the invoices of a listing (records made with their headline) and `ids`; return how many."""
    wanted = {invoice.id: invoice for invoice in listed}
    with transaction.atomic():
        existing = set(
            InvoiceRecord.objects.filter(installation=installation, eduframe_invoice_id__in=list(wanted)).values_list(
                "eduframe_invoice_id", flat=True
            )
        )
        new = [
            InvoiceRecord(installation=installation, eduframe_invoice_id=ef_id, **_headline(invoice))
            for ef_id, invoice in wanted.items()
            if ef_id not in existing
        ]
        # A webhook may create one of them meanwhile: its row wins, and is marked due below all the same.
        InvoiceRecord.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        all_ids = list(wanted) + list(ids)
        for start in range(0, len(all_ids), 500):
            chunk = InvoiceRecord.objects.filter(
                installation=installation, eduframe_invoice_id__in=all_ids[start : start + 500]
            )
            invoices_mark_due(chunk, trigger=trigger)
        _dispatch_on_commit(installation.pk)
    return len(all_ids)


def _headline(invoice) -> dict:
    """What the sync log shows of an invoice before its first sync (Eduframe's listing has it)."""
    return {
        "number": invoice.number or "",
        "eduframe_account_id": invoice.account_id,
        "account_name": invoice.account_name or "",
        "eduframe_status": invoice.status or "",
        "invoice_date": invoice.opened_at,
        "total_incl": invoice.total_incl,
        "eduframe_updated_at": invoice.updated_at,
    }


def _attention_queryset(installation: Installation):
    return InvoiceRecord.objects.filter(installation=installation).filter(
        Q(state=State.NEEDS_ATTENTION) | Q(state=State.PENDING, error_kind__in=[ErrorKind.AUTH, ErrorKind.FUNCTIONAL])
    )


def invoices_retry_attention(*, installation: Installation, trigger: str) -> int:
    """Mark due every invoice that needs attention or waits for a fix or a reconnect; return how many."""
    with transaction.atomic():
        ids = list(_attention_queryset(installation).select_for_update().values_list("pk", flat=True))
        # Clearing error_kind makes a second scan in the same burst (several settings saved) a no-op.
        invoices_mark_due(InvoiceRecord.objects.filter(pk__in=ids), trigger=trigger)
        _dispatch_on_commit(installation.pk)
    return len(ids)


def invoice_record_task_failure(*, record_id: int, message: str, retryable: bool) -> None:
    """Record that the sync task gave up on an invoice, so the log says so and nothing waits silently."""
    if retryable:
        # Out of time or crashed: the dispatcher takes it again later.
        when = timezone.now() + FINAL_FAILURE_RETRY_DELAY
        changes = {"state": State.PENDING, "error_kind": ErrorKind.RETRYABLE, "next_retry_at": when, "due_at": when}
        reason = f"The sync did not finish and is tried again later: {message}"
    else:
        # A bug: retrying on a timer would fail the same way; an operator retries it after the fix.
        changes = {"state": State.NEEDS_ATTENTION, "error_kind": ErrorKind.NONE, "next_retry_at": None, "due_at": None}
        reason = f"The sync stopped on an unexpected error; retry it once the cause is fixed: {message}"
    InvoiceRecord.objects.filter(pk=record_id).exclude(state=State.BOOKED).update(
        reason=reason, updated_at=timezone.now(), **changes
    )
