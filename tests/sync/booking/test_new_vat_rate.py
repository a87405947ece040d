"""A VAT rate created in Eduframe after the rates were cached is read at once, not after the cache expires."""

from __future__ import annotations

import pytest

from sync.models import InvoiceRecord

pytestmark = pytest.mark.django_db


def test_an_invoice_with_a_vat_rate_newer_than_the_cache_is_booked_by_percentage(world):
    world.sync(world.invoice([world.item("Cursus", "100.00")]))  # caches the tenant's VAT rates
    newer = world.eduframe.add_vat("21% BTW (nieuw)", "21")
    invoice = world.invoice([world.item("Cursus", "100.00", vat=newer)])
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED, record.reason
    assert world.entry(invoice)["SalesEntryLines"][0]["VATCode"].strip() == "2"
