"""Invoices that wait because a stored token could not be decrypted: booked as soon as this process can read it.

A worker started with a wrong TOKEN_ENCRYPTION_KEY parks every invoice it takes ("Reconnect needed: ..."), with
a recheck every few minutes (booking_errors.KEY_RECHECK). When a worker starts again with the right key, or the
administrator reconnects Exact Online or replaces the Eduframe credentials, this marks those invoices due at once,
so nobody has to press "retry" or wait for the recheck.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

from plugin.models import ExactConnection, Installation
from sync.models import InvoiceRecord, SyncAttempt
from sync.services.booking_errors import UNREADABLE_REASON_START
from sync.services.invoice_queue import invoices_mark_due

logger = logging.getLogger(__name__)


def invoices_waiting_for_key():
    """The records parked because a stored token could not be decrypted (and not asked for again since)."""
    return InvoiceRecord.objects.filter(
        state=InvoiceRecord.State.PENDING,
        error_kind=InvoiceRecord.ErrorKind.AUTH,
        reason__startswith=UNREADABLE_REASON_START,
    )


def _tokens_readable(installation: Installation) -> bool:
    connection = ExactConnection.objects.filter(installation=installation).first()
    return not installation.eduframe_tokens_unreadable and not (connection and connection.tokens_unreadable)


def invoices_key_recover(*, installation_id: int | None = None) -> int:
    """Mark due the waiting invoices of every installation (or of one) whose tokens this process decrypts, and
    let the dispatcher send them after the commit; return how many."""
    from sync.services.invoice_dispatch import invoices_dispatch

    waiting = invoices_waiting_for_key()
    if installation_id is not None:
        waiting = waiting.filter(installation_id=installation_id)
    total = 0
    for installation in Installation.objects.filter(pk__in=waiting.values("installation_id"), is_active=True):
        if not _tokens_readable(installation):
            logger.warning("Installation %s: stored tokens still cannot be decrypted with this key.", installation.pk)
            continue
        with transaction.atomic():
            count = invoices_mark_due(waiting.filter(installation=installation), trigger=SyncAttempt.Trigger.RETRY)
            transaction.on_commit(partial(invoices_dispatch, installation_id=installation.pk))
        total += count
    return total
