"""The booking tally counts each attempt once, however often (and by whichever copy) it is saved as finished."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from monitoring.models import Tally
from monitoring.services.booking_tally import BOOKING
from sync.models import InvoiceRecord, SyncAttempt
from tests.factories import InvoiceRecordFactory

pytestmark = pytest.mark.django_db


def _booking_count() -> int:
    return sum(Tally.objects.filter(name=BOOKING).values_list("count", flat=True))


def _finished_attempt() -> SyncAttempt:
    record = InvoiceRecordFactory(state=InvoiceRecord.State.BOOKED)
    attempt = SyncAttempt.objects.create(invoice=record, trigger=SyncAttempt.Trigger.WEBHOOK)
    attempt.outcome = SyncAttempt.Outcome.CREATED
    attempt.finished_at = timezone.now()
    attempt.save()
    return attempt


def test_an_attempt_saved_twice_as_finished_is_counted_once():
    attempt = _finished_attempt()
    assert _booking_count() == 1
    attempt.message = "Booked as entry 12."
    attempt.save()  # a second full save, as a later step of the booking might do
    attempt.save(update_fields=["finished_at", "message"])
    assert _booking_count() == 1


def test_an_older_copy_of_the_attempt_saved_later_is_not_counted_again():
    attempt = _finished_attempt()
    stale = SyncAttempt.objects.get(pk=attempt.pk)
    stale.exact_calls = 4
    stale.save()
    assert _booking_count() == 1
    labels = json.loads(Tally.objects.get(name=BOOKING).labels)
    assert labels["outcome"] == SyncAttempt.Outcome.CREATED


def test_two_attempts_are_two_counts():
    _finished_attempt()
    _finished_attempt()
    assert _booking_count() == 2
