"""webhook_event_record / webhook_event_process: each event does what it should, once."""

from __future__ import annotations

import json

import pytest

from sync.models import InvoiceRecord, WebhookEvent
from sync.services.webhook_events import webhook_event_process, webhook_event_record
from tests.factories import InvoiceRecordFactory

State = InvoiceRecord.State


@pytest.fixture
def invoice_id(eduframe_sandbox) -> int:
    """An invoice that exists in the simulated Eduframe (an id without a record costs one lookup there)."""
    state = eduframe_sandbox.state
    with state.webhooks_suppressed():
        account = state.add_account("Delta Consultancy")
        return state.add_invoice(account["id"], [{"name": "Course", "units": 1, "unit_price": "10.00"}])["id"]


def _body(event: str = "invoice.updated", entity_id=42, **extra) -> str:
    payload = {"tenant_id": "tenant-1", "educator": "demo-academy", "event": event}
    payload.update(entity_type="Invoice", entity_id=entity_id, **extra)
    return json.dumps(payload)


def _receive_and_process(installation, body: str) -> WebhookEvent:
    event = webhook_event_record(installation=installation, raw_body=body)
    webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    return event


@pytest.mark.parametrize("event_name", ["invoice.created", "invoice.updated"])
def test_an_invoice_created_or_updated_event_queues_the_invoice_as_a_webhook_sync(
    installation, sync_delay, django_capture_on_commit_callbacks, event_name, invoice_id
):
    with django_capture_on_commit_callbacks(execute=True):
        event = _receive_and_process(installation, _body(event_name, invoice_id))
    record = InvoiceRecord.objects.get(installation=installation, eduframe_invoice_id=invoice_id)
    assert record.state == State.PENDING
    sync_delay.assert_called_once_with(record.pk, "webhook")
    assert event.processed_at is not None
    assert event.error == ""


def test_an_invoice_deleted_event_queues_the_invoice_as_deleted(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    InvoiceRecordFactory(installation=installation, eduframe_invoice_id=42, state=State.SKIPPED)
    with django_capture_on_commit_callbacks(execute=True):
        _receive_and_process(installation, _body("invoice.deleted"))
    record = InvoiceRecord.objects.get(eduframe_invoice_id=42)
    assert (record.state, record.reason) == (State.PENDING, "Deleted in Eduframe.")
    sync_delay.assert_called_once_with(record.pk, "webhook")


def test_an_invoice_deleted_event_leaves_a_booked_record_for_the_worker_to_remove(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    booked = InvoiceRecordFactory(installation=installation, eduframe_invoice_id=42, state=State.BOOKED)
    with django_capture_on_commit_callbacks(execute=True):
        _receive_and_process(installation, _body("invoice.deleted"))
    booked.refresh_from_db()
    assert booked.state == State.BOOKED
    sync_delay.assert_called_once_with(booked.pk, "webhook")


def test_other_events_are_stored_and_marked_processed_without_a_sync(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    body = json.dumps(
        {"educator": "demo-academy", "event": "payment.created", "entity_type": "Payment", "entity_id": 7}
    )
    with django_capture_on_commit_callbacks(execute=True):
        event = _receive_and_process(installation, body)
    assert (event.event, event.entity_id) == ("payment.created", 7)
    assert event.processed_at is not None
    assert not InvoiceRecord.objects.exists()
    sync_delay.assert_not_called()


def test_a_redelivered_task_processes_the_event_once(
    installation, sync_delay, django_capture_on_commit_callbacks, invoice_id
):
    with django_capture_on_commit_callbacks(execute=True):
        event = _receive_and_process(installation, _body(entity_id=invoice_id))
        webhook_event_process(event_id=event.pk)
    assert sync_delay.call_count == 1


def test_duplicate_and_out_of_order_deliveries_leave_one_record(
    installation, sync_delay, django_capture_on_commit_callbacks, invoice_id
):
    with django_capture_on_commit_callbacks(execute=True):
        for name in ["invoice.updated", "invoice.created", "invoice.updated"]:
            _receive_and_process(installation, _body(name, invoice_id))
    assert InvoiceRecord.objects.filter(eduframe_invoice_id=invoice_id).count() == 1
    assert WebhookEvent.objects.count() == 3


def test_the_notification_wrapper_and_extra_keys_are_understood(installation):
    wrapped = json.dumps({"notification": json.loads(_body(event_data={"id": 42, "status": "open"}))})
    event = webhook_event_record(installation=installation, raw_body=wrapped)
    assert (event.event, event.entity_type, event.entity_id, event.error) == ("invoice.updated", "Invoice", 42, "")


def test_an_invoice_event_without_an_entity_id_is_recorded_as_an_error(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = _receive_and_process(installation, _body(entity_id=None))
    assert "without an entity_id" in event.error
    sync_delay.assert_not_called()


def test_an_event_of_another_educator_is_stored_with_the_reason_and_never_processed(installation, sync_delay):
    event = webhook_event_record(installation=installation, raw_body=_body().replace("demo-academy", "other-school"))
    webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert "other-school" in event.error
    assert event.processed_at is None
    assert not InvoiceRecord.objects.exists()


def test_an_event_of_another_tenant_id_is_stored_with_the_reason(installation):
    event = webhook_event_record(installation=installation, raw_body=_body().replace("tenant-1", "tenant-2"))
    assert "tenant-2" in event.error


def test_an_unreadable_body_is_stored_with_the_reason(installation):
    event = webhook_event_record(installation=installation, raw_body="{not json")
    assert event.raw_body == "{not json"
    assert event.error.startswith("The body is not valid JSON")
    assert event.event == ""


def test_a_made_up_invoice_id_costs_one_eduframe_lookup_and_leaves_no_record(
    installation, sync_delay, django_capture_on_commit_callbacks, eduframe_sandbox
):
    before = len(eduframe_sandbox.state.request_log)
    with django_capture_on_commit_callbacks(execute=True):
        events = [_receive_and_process(installation, _body("invoice.created", 900_000 + n)) for n in range(5)]
    lookups = [r for r in list(eduframe_sandbox.state.request_log)[before:] if r["path"].startswith("/invoices/")]
    assert len(lookups) == 5  # one each
    assert not InvoiceRecord.objects.exists()
    sync_delay.assert_not_called()
    assert all("Eduframe has no invoice" in event.error for event in events)
    assert all(event.processed_at is not None for event in events)


def test_a_deletion_of_an_invoice_never_synced_costs_nothing(installation, sync_delay, eduframe_sandbox):
    before = len(eduframe_sandbox.state.request_log)
    event = _receive_and_process(installation, _body("invoice.deleted", 987_654))
    assert "never synced" in event.error
    assert len(eduframe_sandbox.state.request_log) == before
    assert not InvoiceRecord.objects.exists()


def test_an_unknown_id_is_queued_all_the_same_when_eduframe_cannot_answer(
    installation, sync_delay, django_capture_on_commit_callbacks, eduframe_sandbox
):
    """Eduframe down must not drop a genuine invoice: the sync retries and decides."""
    eduframe_sandbox.state.inject_fault("GET /invoices/*", "503", count=5)
    with django_capture_on_commit_callbacks(execute=True):
        event = _receive_and_process(installation, _body("invoice.created", 31337))
    assert event.error == ""
    record = InvoiceRecord.objects.get(eduframe_invoice_id=31337)
    sync_delay.assert_called_once_with(record.pk, "webhook")
