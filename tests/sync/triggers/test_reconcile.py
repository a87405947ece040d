"""installation_reconcile against the Eduframe simulator: it finds what the webhooks missed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from plugin.models import GlobalSettings
from sandbox.eduframe.clock import DEFAULT_TZ
from sync.models import InvoiceRecord
from sync.services.reconcile import installation_reconcile
from tests.factories import InvoiceRecordFactory

from .conftest import sent_record_ids

State = InvoiceRecord.State
MAY_1 = datetime(2026, 5, 1, 10, 0, tzinfo=DEFAULT_TZ)


@pytest.fixture
def eduframe(eduframe_sandbox):
    """The simulator's state on 1 May 2026, with one account and one VAT rate."""
    state = eduframe_sandbox.state
    state.clock.set(MAY_1)
    state.account = state.add_account("Delta Consultancy", email="finance@delta.example")
    state.vat = state.add_vat("21%", "21.0")
    return state


def _invoice(state, status: str = "open") -> dict:
    item = {"name": "Course", "units": 1, "unit_price": "100.00", "invoice_vat_id": state.vat["id"]}
    return state.add_invoice(state.account["id"], [item], status=status)


def _reconcile(installation, capture, **kwargs) -> int:
    with capture(execute=True):
        return installation_reconcile(installation=installation, **kwargs)


def _updated_at(invoice: dict) -> datetime:
    return invoice["updated_at"]


def test_it_queues_an_open_invoice_whose_webhook_never_arrived(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    invoice = _invoice(eduframe)
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 1
    record = InvoiceRecord.objects.get(installation=installation, eduframe_invoice_id=invoice["id"])
    assert record.state == State.PENDING
    sync_delay.assert_called_once_with(record.pk, "reconcile")


def test_it_ignores_concept_invoices(installation, eduframe, sync_delay, django_capture_on_commit_callbacks):
    _invoice(eduframe, status="concept")
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 0
    sync_delay.assert_not_called()


def test_it_leaves_an_unchanged_booked_invoice_alone(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    invoice = _invoice(eduframe, status="paid")
    InvoiceRecordFactory(
        installation=installation,
        eduframe_invoice_id=invoice["id"],
        state=State.BOOKED,
        eduframe_updated_at=_updated_at(invoice),
    )
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 0


def test_it_queues_a_booked_invoice_that_changed_since(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    invoice = _invoice(eduframe)
    record = InvoiceRecordFactory(
        installation=installation,
        eduframe_invoice_id=invoice["id"],
        state=State.BOOKED,
        eduframe_updated_at=_updated_at(invoice) - timedelta(hours=1),
    )
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 1
    assert sent_record_ids(sync_delay) == [record.pk]


def test_it_queues_a_booked_invoice_that_is_no_longer_listed(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    gone = InvoiceRecordFactory(installation=installation, eduframe_invoice_id=999, state=State.BOOKED)
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 1
    assert sent_record_ids(sync_delay) == [gone.pk]


def test_it_skips_invoices_dated_before_sync_from(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    _invoice(eduframe)
    GlobalSettings.objects.filter(installation=installation).update(sync_from=date(2026, 6, 1))
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 0


def test_a_since_date_before_sync_from_takes_in_the_older_invoices_even_if_skipped_before(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    invoice = _invoice(eduframe)
    GlobalSettings.objects.filter(installation=installation).update(sync_from=date(2026, 6, 1))
    InvoiceRecordFactory(
        installation=installation,
        eduframe_invoice_id=invoice["id"],
        state=State.SKIPPED,
        eduframe_updated_at=_updated_at(invoice),
    )
    assert _reconcile(installation, django_capture_on_commit_callbacks, since=date(2026, 4, 1)) == 1


def test_it_leaves_a_pending_invoice_waiting_for_its_retry_time_to_the_retry_scan(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    invoice = _invoice(eduframe)
    retry_at = timezone.now() + timedelta(minutes=30)
    record = InvoiceRecordFactory(
        installation=installation,
        eduframe_invoice_id=invoice["id"],
        state=State.PENDING,
        eduframe_updated_at=_updated_at(invoice),
        next_retry_at=retry_at,
    )
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 0
    record.refresh_from_db()
    assert record.next_retry_at == retry_at
    sync_delay.assert_not_called()


def test_it_queues_a_pending_invoice_waiting_for_its_retry_time_when_it_changed(
    installation, eduframe, sync_delay, django_capture_on_commit_callbacks
):
    invoice = _invoice(eduframe)
    record = InvoiceRecordFactory(
        installation=installation,
        eduframe_invoice_id=invoice["id"],
        state=State.PENDING,
        eduframe_updated_at=_updated_at(invoice) - timedelta(hours=1),
        next_retry_at=timezone.now() + timedelta(minutes=30),
    )
    assert _reconcile(installation, django_capture_on_commit_callbacks) == 1
    assert sent_record_ids(sync_delay) == [record.pk]
