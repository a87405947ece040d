"""The Celery tasks, called directly: thin, retried only on transient errors, failures recorded."""

from __future__ import annotations

from datetime import date, timedelta
from unittest.mock import patch

import pytest
from django.conf import settings
from django.utils import timezone

from plugin.models import ExactConnection, GlobalSettings
from sync import tasks
from sync.errors import RetryableError
from sync.models import InvoiceRecord
from tests.factories import ExactConnectionFactory, GlobalSettingsFactory, InstallationFactory, InvoiceRecordFactory

State = InvoiceRecord.State


@pytest.fixture
def invoice_sync():
    with patch("sync.services.invoice_sync.invoice_sync", autospec=True) as service:
        yield service


def test_the_sync_task_hands_the_record_to_the_booking_service(installation, invoice_sync):
    record = InvoiceRecordFactory(installation=installation, state=State.PENDING)
    tasks.sync_invoice_task(record.pk, "webhook")
    invoice_sync.assert_called_once_with(record_id=record.pk, trigger="webhook")


def test_the_tasks_are_acknowledged_late_and_time_limited_from_settings():
    for task in (tasks.sync_invoice_task, tasks.process_webhook_event_task, tasks.reconcile_installation_task):
        assert task.acks_late is True
        assert task.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
        assert task.time_limit == settings.CELERY_TASK_TIME_LIMIT


def test_a_retryable_error_escaping_the_booking_is_not_retried_by_celery_but_left_due_later(installation, invoice_sync):
    record = InvoiceRecordFactory(installation=installation, state=State.PENDING)
    invoice_sync.side_effect = RetryableError("Exact Online answered 503.")
    result = tasks.sync_invoice_task.apply(args=(record.pk, "webhook"))
    assert result.failed()
    assert invoice_sync.call_count == 1  # the dispatcher sends it again when due, not Celery
    record.refresh_from_db()
    assert (record.state, record.error_kind) == (State.PENDING, InvoiceRecord.ErrorKind.RETRYABLE)
    assert record.due_at == record.next_retry_at > timezone.now() + timedelta(minutes=20)
    assert record.queued_at is None
    assert "Exact Online answered 503." in record.reason


def test_a_bug_is_not_retried_and_parks_the_invoice_as_needing_attention(installation, invoice_sync):
    record = InvoiceRecordFactory(installation=installation, state=State.PENDING)
    invoice_sync.side_effect = KeyError("EntryID")
    assert tasks.sync_invoice_task.apply(args=(record.pk, "webhook")).failed()
    assert invoice_sync.call_count == 1
    record.refresh_from_db()
    assert record.state == State.NEEDS_ATTENTION
    assert "EntryID" in record.reason


def test_a_final_failure_does_not_unbook_a_booked_invoice(installation, invoice_sync):
    record = InvoiceRecordFactory(installation=installation, state=State.BOOKED)
    invoice_sync.side_effect = KeyError("EntryID")
    tasks.sync_invoice_task.apply(args=(record.pk, "webhook"))
    record.refresh_from_db()
    assert record.state == State.BOOKED


def test_the_webhook_task_hands_the_event_to_its_service():
    with patch("sync.services.webhook_events.webhook_event_process", autospec=True) as service:
        tasks.process_webhook_event_task(3)
    service.assert_called_once_with(event_id=3)


def test_the_reconcile_task_passes_the_since_date_on(installation):
    with patch("sync.services.reconcile.installation_reconcile", autospec=True) as service:
        tasks.reconcile_installation_task(installation.pk, "2025-07-01")
    service.assert_called_once_with(installation=installation, since=date(2025, 7, 1), trigger="reconcile")


def test_the_reconcile_task_skips_an_installation_that_is_not_ready(installation):
    GlobalSettings.objects.filter(installation=installation).update(journal_code="")
    with patch("sync.services.reconcile.installation_reconcile", autospec=True) as service:
        tasks.reconcile_installation_task(installation.pk)
    service.assert_not_called()


def test_the_beat_reconciles_only_installations_that_are_ready(
    installation, reconcile_delay, django_capture_on_commit_callbacks
):
    InstallationFactory()  # not connected
    inactive = InstallationFactory(is_active=False)
    ExactConnectionFactory(installation=inactive)
    GlobalSettingsFactory(installation=inactive, sync_from=date(2026, 1, 1))
    paused = InstallationFactory()
    ExactConnectionFactory(installation=paused, status=ExactConnection.Status.NEEDS_RECONNECT)
    GlobalSettingsFactory(installation=paused, sync_from=date(2026, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reconcile_installations() == 1
    reconcile_delay.assert_called_once_with(installation.pk, None)


def test_the_beat_retry_scan_enqueues_due_invoices(installation, sync_delay, django_capture_on_commit_callbacks):
    now = timezone.now()
    InvoiceRecordFactory(installation=installation, state=State.PENDING, next_retry_at=now, due_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.retry_due_invoices() == 1
    assert sync_delay.call_count == 1


def test_a_task_that_finds_the_invoice_held_leaves_it_queued_for_the_dispatcher_to_send_again(installation):
    # A worker killed mid-booking leaves its claim; the redelivered task finds it held and does not run.
    now = timezone.now()
    record = InvoiceRecordFactory(
        installation=installation, state=State.PENDING, due_at=now, queued_at=now,
        claimed_until=now + timedelta(minutes=10), claim_token="dead-worker",
    )  # fmt: skip
    tasks.sync_invoice_task(record.pk, "webhook")
    record.refresh_from_db()
    assert (record.due_at, record.queued_at) == (now, now)  # sent again once the claim has expired
