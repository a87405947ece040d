"""Times written into an invoice's reason read in local time (settings.TIME_ZONE), as the pages show every
other moment: never "13:05 UTC" on a page whose own clock says 14:05."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.utils import timezone

from sync.models import InvoiceRecord

pytestmark = pytest.mark.django_db


def _synced(world, invoice) -> InvoiceRecord:
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    return record


def test_a_wait_for_eduframes_retry_after_names_the_local_time_on_the_log_and_the_invoice_page(world, admin):
    world.eduframe.inject_fault("GET /invoices/*", "429", count=1, seconds=240)
    record = _synced(world, world.invoice([world.item()]))
    assert record.state == InvoiceRecord.State.PENDING
    local = f"{timezone.localtime(record.next_retry_at):%H:%M:%S}"
    utc = f"{record.next_retry_at.astimezone(UTC):%H:%M:%S}"
    assert local != utc  # Europe/Amsterdam: the test tells the two apart
    assert f"booked at about {local}." in record.reason
    assert "UTC" not in record.reason
    for url in ("/settings/log/", f"/settings/log/{record.pk}/"):
        page = admin.get(url).content.decode()
        assert f"booked at about {local}" in page
        assert utc not in page


def test_a_temporary_failure_says_when_it_is_tried_again_in_local_time(world):
    world.exact.inject_fault("POST salesentry/SalesEntries", "503")
    record = _synced(world, world.invoice([world.item()]))
    assert record.error_kind == InvoiceRecord.ErrorKind.RETRYABLE
    assert f"trying again at {timezone.localtime(record.next_retry_at):%H:%M}." in record.reason
    assert "UTC" not in record.reason
