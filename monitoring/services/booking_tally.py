"""Booking outcomes and durations, tallied in the database as each attempt ends (any worker, any machine)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from monitoring.models import AttemptTallied
from monitoring.tally import duration_bucket, tally_add
from sync.models import SyncAttempt

BOOKING = "booking"
WEBHOOK_ANSWER = "webhook_answer"


def booking_tally(*, attempt: SyncAttempt) -> bool:
    """Count the attempt under its outcome (and error kind) in its duration's bucket, once per attempt.

    Return False when the attempt was counted before (saved again as finished, by this or another process).
    """
    if attempt.finished_at is None:
        raise ValueError(f"Attempt {attempt.pk} has not finished: it has no duration to tally.")
    seconds = max(0.0, (attempt.finished_at - attempt.started_at).total_seconds())
    labels = {
        "installation": attempt.invoice.installation_id,
        "outcome": attempt.outcome,
        "error_kind": attempt.error_kind,
        "le": duration_bucket(seconds),
    }
    try:
        # The mark and the count commit together: a failed count leaves the attempt to be counted next time.
        with transaction.atomic():
            AttemptTallied.objects.create(attempt_id=attempt.pk)
            tally_add(BOOKING, labels, value=seconds)
    except IntegrityError:
        return False
    return True


def webhook_answer_tally(*, status: int) -> None:
    """Count one answer of the webhook receiver by its HTTP status."""
    tally_add(WEBHOOK_ANSWER, {"status": status})
