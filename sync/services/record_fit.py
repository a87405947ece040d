"""Values fitted to our own columns before a save, and the last word on an attempt that failed unexpectedly.

Eduframe bounds neither an invoice number nor an account name; PostgreSQL refuses a value longer than its
column (SQLite does not), and such an error after the Exact writes would lose the booking's outcome. So every
text column is fitted before the record is saved: the record is the sync log's headline, Exact has the rest.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, models
from django.utils import timezone

from sync.models import InvoiceRecord

ELLIPSIS = "…"
logger = logging.getLogger(__name__)
UNEXPECTED = "The sync stopped on an unexpected error; retry it once the cause is fixed: {error}"


def fit_text_fields(instance: models.Model) -> list[str]:
    """Cut each CharField value longer than its column (ending in "…"); return the names of the fields cut."""
    cut = []
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField) or not field.max_length:
            continue
        value = getattr(instance, field.attname)
        if isinstance(value, str) and len(value) > field.max_length:
            setattr(instance, field.attname, value[: field.max_length - 1] + ELLIPSIS)
            cut.append(field.name)
    return cut


def record_unexpected_failure(*, record_id: int, error: BaseException) -> None:
    """Land an unexpected error on the record, whatever its state (a booked invoice is no longer up to date).

    A plain UPDATE of the outcome columns only: the in-memory record may hold the very value that failed.
    """
    reason = UNEXPECTED.format(error=repr(error))
    try:
        InvoiceRecord.objects.filter(pk=record_id).update(
            state=InvoiceRecord.State.NEEDS_ATTENTION,
            error_kind=InvoiceRecord.ErrorKind.NONE,
            reason=reason,
            fix_hint="",
            next_retry_at=None,
            updated_at=timezone.now(),
        )
    except DatabaseError:
        # The database itself failed: the task's failure handler records it once the error is raised.
        logger.exception("Could not record the unexpected error on invoice record %s", record_id)
