"""Claims whose holder died: freed, the attempt they cut short closed with a reason, the invoice queued again.

A claim is abandoned when its heartbeat stopped (it ran past `claimed_until` without being released), or
when it names a process on this host that no longer lives (seen at once by a worker that starts after a
crash, without waiting for the claim to run out). Run at every worker start and by beat every 30 seconds.
The re-run finds what the killed attempt may have written (account by code, document by subject, entry
by YourRef) before writing anything, so the invoice is booked exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sync.models import InvoiceRecord, SyncAttempt
from sync.services.invoice_queue import invoices_mark_due
from sync.services.worker_identity import holder_alive_here, host_name

logger = logging.getLogger(__name__)
CUT_SHORT = "The worker stopped during this attempt (restarted, killed or crashed); the invoice was queued again."


def _abandoned(row: Mapping[str, Any], now: datetime) -> bool:
    if row["claimed_until"] is None or row["claimed_until"] < now:
        return True
    return holder_alive_here(row["claim_holder"]) is False


def claims_recover_abandoned() -> int:
    """Free every abandoned claim and queue its invoice again; return how many were recovered."""
    now = timezone.now()
    held = InvoiceRecord.objects.exclude(claim_token="").filter(
        Q(claimed_until__lt=now) | Q(claimed_until__isnull=True) | Q(claim_holder__startswith=f"{host_name()}:")
    )
    recovered = 0
    for row in held.values("pk", "claim_token", "claim_holder", "claimed_until"):
        if not _abandoned(row, now):
            continue
        # Conditional on the token we saw: a holder that released (or a new claim) meanwhile is left alone.
        freed = InvoiceRecord.objects.filter(pk=row["pk"], claim_token=row["claim_token"]).update(
            claimed_until=None, claim_token="", claim_holder=""
        )
        if freed != 1:
            continue
        attempts_cut_short_close(record_id=row["pk"])
        invoice_due_again(record_id=row["pk"])
        logger.warning("Invoice record %s: claim of %s abandoned; queued again.", row["pk"], row["claim_holder"])
        recovered += 1
    return recovered


def invoice_due_again(*, record_id: int) -> None:
    """The dead holder's task will never end: free its task slot and let the dispatcher send the invoice now."""
    from sync.services.invoice_dispatch import invoices_dispatch

    record = InvoiceRecord.objects.filter(pk=record_id)
    record.update(queued_at=None)
    invoices_mark_due(record, trigger=SyncAttempt.Trigger.RETRY)
    installation_id = record.values_list("installation_id", flat=True).first()
    transaction.on_commit(lambda: invoices_dispatch(installation_id=installation_id))


def attempts_cut_short_close(*, record_id: int) -> None:
    """Close the attempts a dead worker left running, saying why they have no outcome."""
    SyncAttempt.objects.filter(invoice_id=record_id, outcome=SyncAttempt.Outcome.RUNNING).update(
        outcome=SyncAttempt.Outcome.FAILED, message=CUT_SHORT, finished_at=timezone.now()
    )
