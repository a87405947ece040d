"""Settings, overrides, VAT mapping and reconnecting Exact re-queue the invoices waiting for them."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from plugin.models import ExactConnection
from sync.models import InvoiceRecord
from tests.factories import CourseOverrideFactory, InvoiceRecordFactory, VatMappingFactory

from .conftest import sent_record_ids

State = InvoiceRecord.State


@pytest.fixture
def waiting(installation):
    """One invoice that needs attention and one booked invoice."""
    attention = InvoiceRecordFactory(installation=installation, state=State.NEEDS_ATTENTION)
    InvoiceRecordFactory(installation=installation, state=State.BOOKED)
    return attention


def test_saving_the_global_settings_requeues_needs_attention_invoices_and_not_booked_ones(
    installation, waiting, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        installation.settings.journal_code = "71"
        installation.settings.save()
    assert sent_record_ids(sync_delay) == [waiting.pk]
    assert sync_delay.call_args.args[1] == "settings"


def test_saving_a_course_override_requeues_needs_attention_invoices(
    installation, waiting, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        CourseOverrideFactory(installation=installation, ledger_code="8100")
    assert sent_record_ids(sync_delay) == [waiting.pk]


def test_deleting_a_vat_mapping_requeues_needs_attention_invoices(
    installation, waiting, sync_delay, django_capture_on_commit_callbacks
):
    mapping = VatMappingFactory(installation=installation, exact_vat_code="2")
    waiting.state = State.NEEDS_ATTENTION
    waiting.save()
    with django_capture_on_commit_callbacks(execute=True):
        mapping.delete()
    assert sent_record_ids(sync_delay)[-1] == waiting.pk


def _save_override_then_fail(installation) -> None:
    with transaction.atomic():
        CourseOverrideFactory(installation=installation, ledger_code="8100")
        raise RuntimeError("the form failed after saving")


def test_a_change_that_is_rolled_back_requeues_nothing(
    installation, waiting, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _save_override_then_fail(installation)
    assert callbacks == []
    sync_delay.assert_not_called()
    waiting.refresh_from_db()
    assert waiting.state == State.NEEDS_ATTENTION


def test_moving_sync_from_back_reconciles_from_the_new_date(
    installation, sync_delay, reconcile_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        installation.settings.sync_from = date(2025, 7, 1)
        installation.settings.save()
    reconcile_delay.assert_called_once_with(installation.pk, "2025-07-01")


def test_setting_sync_from_for_the_first_time_reconciles_from_that_date(
    installation, sync_delay, reconcile_delay, django_capture_on_commit_callbacks
):
    installation.settings.sync_from = None
    installation.settings.save()
    with django_capture_on_commit_callbacks(execute=True):
        installation.settings.sync_from = date(2026, 11, 1)
        installation.settings.save()
    reconcile_delay.assert_called_once_with(installation.pk, "2026-11-01")


def test_moving_sync_from_forward_reconciles_nothing(
    installation, sync_delay, reconcile_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        installation.settings.sync_from = date(2026, 3, 1)
        installation.settings.save()
    reconcile_delay.assert_not_called()


def test_reconnecting_exact_retries_the_invoices_paused_for_the_connection(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    connection = installation.exact_connection
    connection.status = ExactConnection.Status.NEEDS_RECONNECT
    connection.save()
    paused = InvoiceRecordFactory(
        installation=installation, state=State.PENDING, error_kind=InvoiceRecord.ErrorKind.AUTH
    )
    with django_capture_on_commit_callbacks(execute=True):
        connection.status = ExactConnection.Status.CONNECTED
        connection.save()
    assert sent_record_ids(sync_delay) == [paused.pk]


def test_a_token_refresh_on_a_connected_connection_requeues_nothing(
    installation, sync_delay, django_capture_on_commit_callbacks
):
    InvoiceRecordFactory(installation=installation, state=State.PENDING, error_kind=InvoiceRecord.ErrorKind.AUTH)
    with django_capture_on_commit_callbacks(execute=True):
        connection = installation.exact_connection
        connection.access_token = "refreshed"
        connection.save()
    sync_delay.assert_not_called()
