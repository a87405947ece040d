"""invoice_enqueue and invoices_retry_attention: upsert, pending, one task per invoice after commit."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.db import transaction
from django.db.models.query import QuerySet

from sync.models import InvoiceRecord
from sync.services.invoice_queue import invoice_enqueue, invoices_retry_attention
from tests.factories import InvoiceRecordFactory

from .conftest import sent_record_ids

State = InvoiceRecord.State
ErrorKind = InvoiceRecord.ErrorKind


def test_it_creates_a_pending_record_and_sends_the_task_only_after_commit(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        record = invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger="webhook")
        sync_delay.assert_not_called()
    assert record.state == State.PENDING
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # the dispatcher, after the commit: it sends the task after its own commit
    sync_delay.assert_called_once_with(record.pk, "webhook")


def _enqueue_then_fail(installation) -> None:
    with transaction.atomic():
        invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger="webhook")
        raise RuntimeError("the caller failed")


def test_it_sends_nothing_when_the_transaction_rolls_back(installation, sync_delay, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _enqueue_then_fail(installation)
    assert callbacks == []
    assert not InvoiceRecord.objects.exists()
    sync_delay.assert_not_called()


def test_it_keeps_a_booked_record_booked_for_the_worker_to_decide(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    booked = InvoiceRecordFactory(installation=installation, eduframe_invoice_id=42, state=State.BOOKED)
    with django_capture_on_commit_callbacks(execute=True):
        record = invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger="webhook")
    assert record.pk == booked.pk
    assert record.state == State.BOOKED
    sync_delay.assert_called_once_with(booked.pk, "webhook")


def test_it_moves_a_needs_attention_record_back_to_pending(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    InvoiceRecordFactory(
        installation=installation,
        eduframe_invoice_id=42,
        state=State.NEEDS_ATTENTION,
        error_kind=ErrorKind.FUNCTIONAL,
        reason="No ledger code for course X.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        record = invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger="manual")
    assert (record.state, record.error_kind) == (State.PENDING, ErrorKind.NONE)
    assert record.reason == "No ledger code for course X."


def test_it_says_a_deleted_invoice_was_deleted_in_eduframe(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record = invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger="webhook", deleted=True)
    assert (record.state, record.reason) == (State.PENDING, "Deleted in Eduframe.")
    sync_delay.assert_called_once_with(record.pk, "webhook")


def test_it_keeps_one_record_when_another_worker_inserts_it_first(installation, sync_delay):
    """The race: both look, neither finds the row, the other inserts first; get_or_create re-reads it."""
    real_get = QuerySet.get
    state = {"raced": False}

    def get_after_the_other_worker_inserted(self, *args, **kwargs):
        if self.model is InvoiceRecord and not state["raced"]:
            state["raced"] = True
            InvoiceRecord.objects.bulk_create([InvoiceRecord(installation=installation, eduframe_invoice_id=42)])
            raise InvoiceRecord.DoesNotExist
        return real_get(self, *args, **kwargs)

    with patch.object(QuerySet, "get", get_after_the_other_worker_inserted):
        record = invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger="webhook")
    assert state["raced"]
    assert list(InvoiceRecord.objects.values_list("pk", flat=True)) == [record.pk]


def test_retry_attention_requeues_waiting_invoices_and_not_booked_ones(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    attention = InvoiceRecordFactory(installation=installation, state=State.NEEDS_ATTENTION)
    paused = InvoiceRecordFactory(installation=installation, state=State.PENDING, error_kind=ErrorKind.AUTH)
    InvoiceRecordFactory(installation=installation, state=State.BOOKED)
    InvoiceRecordFactory(installation=installation, state=State.PENDING, error_kind=ErrorKind.RETRYABLE)
    InvoiceRecordFactory(state=State.NEEDS_ATTENTION)  # another installation's
    with django_capture_on_commit_callbacks(execute=True):
        count = invoices_retry_attention(installation=installation, trigger="settings")
    assert count == 2
    assert sorted(sent_record_ids(sync_delay)) == sorted([attention.pk, paused.pk])
    attention.refresh_from_db()
    assert attention.state == State.PENDING


def test_retry_attention_twice_in_a_row_sends_each_invoice_once(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    InvoiceRecordFactory(installation=installation, state=State.NEEDS_ATTENTION)
    with django_capture_on_commit_callbacks(execute=True):
        first = invoices_retry_attention(installation=installation, trigger="settings")
        second = invoices_retry_attention(installation=installation, trigger="settings")
    assert (first, second) == (1, 0)
    assert sync_delay.call_count == 1
