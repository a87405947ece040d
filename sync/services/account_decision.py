"""The administrator's choice for an Eduframe account whose Exact match EduExact would not adopt on its own.

"Link to this account": the invoices are booked on the candidate, whose details in Exact are never changed.
"Create a new account": EduExact creates its own `EF<id>` account and ignores VAT/e-mail matches from now on.
Either way the account's waiting invoices are queued again at once.
"""

from __future__ import annotations

from django.db import transaction

from sync.models import AccountLink, InvoiceRecord
from sync.services.invoice_queue import invoice_enqueue

LINK, CREATE = "link", "create"
CHOICES = (LINK, CREATE)


class DecisionError(ValueError):
    """The choice cannot be applied (nothing waits for it, or an unknown choice); the text says why."""


def account_decide(*, installation, eduframe_account_id: int | None, choice: str, trigger: str) -> int:
    """Apply the administrator's choice and queue the account's waiting invoices; return how many were queued."""
    if choice not in CHOICES:
        raise DecisionError(f"Unknown choice {choice!r}: expected 'link' or 'create'.")
    if eduframe_account_id is None:
        raise DecisionError("This invoice has no Eduframe account to decide for.")
    with transaction.atomic():
        link = (
            AccountLink.objects.select_for_update()
            .filter(installation=installation, eduframe_account_id=eduframe_account_id)
            .first()
        )
        if link is None or link.candidate_account_id is None:
            raise DecisionError("This Eduframe account does not wait for a choice (any more).")
        if choice == LINK:
            link.exact_account_id, link.exact_code = link.candidate_account_id, link.candidate_code
            # Checked once on the next booking (it must still exist; it is made a customer when it is not).
            # The candidate's division was kept with it (the settings may have changed since: then it is re-matched).
            link.origin, link.synced_fingerprint, link.synced_fields = AccountLink.Origin.ADMIN, "", {}
        else:
            link.create_new, link.exact_account_id, link.origin = True, None, AccountLink.Origin.NONE
        link.candidate_account_id, link.candidate_code, link.candidate_name, link.candidate_matched_by = (
            None,
            "",
            "",
            "",
        )
        link.save()
        waiting = InvoiceRecord.objects.filter(
            installation=installation,
            eduframe_account_id=eduframe_account_id,
            state__in=[InvoiceRecord.State.NEEDS_ATTENTION, InvoiceRecord.State.PENDING],
        ).values_list("eduframe_invoice_id", flat=True)
        ids = list(waiting)
        for eduframe_invoice_id in ids:
            invoice_enqueue(installation=installation, eduframe_invoice_id=eduframe_invoice_id, trigger=trigger)
    return len(ids)


def account_candidate_for(record: InvoiceRecord) -> AccountLink | None:
    """The link that waits for a choice for this invoice's Eduframe account, or None."""
    if record.eduframe_account_id is None:
        return None
    return (
        AccountLink.objects.filter(
            installation_id=record.installation_id, eduframe_account_id=record.eduframe_account_id
        )
        .exclude(candidate_account_id=None)
        .first()
    )
