"""The per-invoice claim: one attempt at a time, and a sync asked for meanwhile is never lost."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone

from sync.models import InvoiceRecord, SyncAttempt
from sync.services import invoice_book
from sync.services.invoice_claim import RERUN, invoice_claim, invoice_release
from sync.tasks import sync_invoice_task

pytestmark = pytest.mark.django_db


def test_a_claimed_invoice_is_not_booked_twice_but_flagged_for_a_rerun(world):
    invoice = world.invoice([world.item()])
    record = world.record(invoice)
    token = invoice_claim(record_id=record.pk)
    attempt = world.sync(invoice)
    record.refresh_from_db()
    assert attempt.pk is None
    assert attempt.outcome == SyncAttempt.Outcome.SKIPPED
    assert record.claim_token == token + RERUN
    assert world.exact_requests() == []
    assert invoice_release(record_id=record.pk, token=token) is True


def test_the_claim_holder_runs_again_when_a_sync_was_asked_for_meanwhile(world, monkeypatch):
    invoice = world.invoice([world.item()])
    record = world.record(invoice)
    real = invoice_book._sync_claimed
    runs = []

    def sync_while_another_asks(record_id, trigger):
        runs.append(trigger)
        if len(runs) == 1:
            assert invoice_book.invoice_sync(record_id=record_id, trigger=trigger).pk is None
        return real(record_id, trigger)

    monkeypatch.setattr(invoice_book, "_sync_claimed", sync_while_another_asks)
    world.sync(invoice)
    record.refresh_from_db()
    assert len(runs) == 2
    assert record.state == InvoiceRecord.State.BOOKED
    assert (record.claim_token, record.claimed_until) == ("", None)
    assert len(world.entries()) == 1


def test_a_sync_still_asked_for_after_the_last_run_stays_due_for_the_dispatcher(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = world.invoice([world.item()])
    record = world.record(invoice)
    real = invoice_book._sync_claimed
    runs = []

    def sync_while_others_keep_asking(record_id, trigger):
        runs.append(trigger)
        assert invoice_book.invoice_sync(record_id=record_id, trigger=trigger).pk is None
        return real(record_id, trigger)

    monkeypatch.setattr(invoice_book, "_sync_claimed", sync_while_others_keep_asking)
    with patch.object(sync_invoice_task, "delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=True):
            world.sync(invoice)
    assert len(runs) == invoice_book.MAX_RUNS
    delay.assert_not_called()  # the booking never queues itself ...
    record.refresh_from_db()
    assert (record.state, record.claim_token, record.claimed_until) == (InvoiceRecord.State.BOOKED, "", None)
    assert record.due_at is not None  # ... the request waits in the database for the dispatcher


def test_a_sync_of_a_record_that_no_longer_exists_says_so(db):
    with pytest.raises(InvoiceRecord.DoesNotExist):
        invoice_book.invoice_sync(record_id=987654, trigger=SyncAttempt.Trigger.RETRY)


def test_the_claim_outlasts_the_task_time_limit(world, settings):
    settings.CELERY_TASK_TIME_LIMIT = 1800
    record = world.record(world.invoice([world.item()]))
    before = timezone.now()
    invoice_claim(record_id=record.pk)
    record.refresh_from_db()
    # A claim that ended before the task is killed would let a second worker book the same invoice.
    assert record.claimed_until > before + timedelta(seconds=1800)
