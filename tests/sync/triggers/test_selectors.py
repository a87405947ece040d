"""sync_status, invoice_list and backfill_progress: the reads behind the log page and the command."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import Http404

from sync.models import InvoiceRecord, SyncAttempt
from sync.selectors import backfill_progress, invoice_get, invoice_list, sync_status
from tests.factories import InstallationFactory, InvoiceRecordFactory

State = InvoiceRecord.State


def test_sync_status_counts_every_state_including_empty_ones(installation):
    InvoiceRecordFactory.create_batch(2, installation=installation, state=State.BOOKED)
    InvoiceRecordFactory(installation=installation, state=State.PENDING)
    status = sync_status(installation=installation)
    assert status.counts == {"pending": 1, "booked": 2, "needs_attention": 0, "skipped": 0, "deleted": 0}
    assert status.total == 3


def test_sync_status_names_the_oldest_pending_invoice_and_the_last_error(installation):
    oldest = InvoiceRecordFactory(installation=installation, state=State.PENDING)
    InvoiceRecordFactory(installation=installation, state=State.PENDING)
    SyncAttempt.objects.create(invoice=oldest, trigger="webhook", outcome="failed", message="first")
    last = SyncAttempt.objects.create(invoice=oldest, trigger="retry", outcome="failed", message="Exact is down")
    SyncAttempt.objects.create(invoice=oldest, trigger="retry", outcome="created")
    status = sync_status(installation=installation)
    assert status.oldest_pending == oldest
    assert status.last_error == last


def test_sync_status_without_an_installation_covers_all_of_them(installation):
    InvoiceRecordFactory(installation=installation, state=State.BOOKED)
    InvoiceRecordFactory(installation=InstallationFactory(), state=State.BOOKED)
    assert sync_status().counts["booked"] == 2
    assert sync_status(installation=installation).counts["booked"] == 1


def test_invoice_list_filters_by_state_and_searches_number_and_account(installation):
    InvoiceRecordFactory(installation=installation, number="2026-0001", account_name="Delta", state=State.BOOKED)
    polder = InvoiceRecordFactory(installation=installation, number="2026-0002", account_name="Polder")
    InvoiceRecordFactory(number="2026-0002")  # another installation's
    assert list(invoice_list(installation=installation, search="polder")) == [polder]
    assert list(invoice_list(installation=installation, search="0002")) == [polder]
    assert list(invoice_list(installation=installation, state=State.PENDING)) == [polder]


def test_invoice_get_refuses_another_installations_record(installation):
    other = InvoiceRecordFactory()
    with pytest.raises(Http404):
        invoice_get(installation=installation, record_id=other.pk)


def test_backfill_progress_counts_what_is_done_since_the_date(installation):
    InvoiceRecordFactory(installation=installation, invoice_date=date(2025, 8, 1), state=State.BOOKED)
    InvoiceRecordFactory(installation=installation, invoice_date=date(2025, 9, 1), state=State.PENDING)
    InvoiceRecordFactory(installation=installation, invoice_date=None, state=State.PENDING)  # queued, not fetched
    InvoiceRecordFactory(installation=installation, invoice_date=date(2025, 1, 1), state=State.BOOKED)
    assert backfill_progress(installation=installation, since=date(2025, 7, 1)) == (1, 3)
