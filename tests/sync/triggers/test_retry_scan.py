"""invoices_enqueue_due_retries: the beat's scan for invoices whose backoff has passed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sync.models import InvoiceRecord
from sync.services.invoice_queue import invoices_enqueue_due_retries
from tests.factories import InvoiceRecordFactory

from .conftest import sent_record_ids

State = InvoiceRecord.State


def _pending(installation, minutes: int):
    return InvoiceRecordFactory(
        installation=installation,
        state=State.PENDING,
        error_kind=InvoiceRecord.ErrorKind.RETRYABLE,
        next_retry_at=timezone.now() + timedelta(minutes=minutes),
    )


def test_it_enqueues_the_pending_invoices_whose_retry_time_has_come(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    due = _pending(installation, minutes=-1)
    _pending(installation, minutes=+5)
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_enqueue_due_retries() == 1
    assert sent_record_ids(sync_delay) == [due.pk]
    assert sync_delay.call_args.args[1] == "retry"


def test_it_does_not_send_the_same_invoice_again_on_the_next_scan(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    _pending(installation, minutes=-1)
    with django_capture_on_commit_callbacks(execute=True):
        invoices_enqueue_due_retries()
        invoices_enqueue_due_retries()
    assert sync_delay.call_count == 1


def test_it_leaves_the_invoices_of_an_inactive_installation_alone(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    _pending(installation, minutes=-1)
    installation.is_active = False
    installation.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_enqueue_due_retries() == 0
    sync_delay.assert_not_called()


def test_it_does_not_touch_booked_invoices_with_a_stale_retry_time(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    InvoiceRecordFactory(installation=installation, state=State.BOOKED, next_retry_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_enqueue_due_retries() == 0


def _queued(installation, hours_ago: float, **fields):
    record = InvoiceRecordFactory(installation=installation, state=State.PENDING, **fields)
    InvoiceRecord.objects.filter(pk=record.pk).update(updated_at=timezone.now() - timedelta(hours=hours_ago))
    return record


def test_it_queues_again_an_invoice_whose_task_was_lost(installation, sync_delay, django_capture_on_commit_callbacks):
    lost = _queued(installation, hours_ago=7)
    _queued(installation, hours_ago=1)  # still plausibly waiting behind a backlog
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_enqueue_due_retries() == 1
    assert sent_record_ids(sync_delay) == [lost.pk]


def test_it_leaves_an_old_pending_invoice_that_waits_for_a_reconnect(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    _queued(installation, hours_ago=30, error_kind=InvoiceRecord.ErrorKind.AUTH)
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_enqueue_due_retries() == 0


def test_it_leaves_an_old_pending_invoice_that_a_worker_is_booking(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    _queued(installation, hours_ago=7, claimed_until=timezone.now() + timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_enqueue_due_retries() == 0
