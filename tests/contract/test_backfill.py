"""After the settings are saved, the invoices Eduframe already has since `Sync from` are booked without anyone
resaving them: each exactly once, with its PDF attached, to the cent (contract: mapping)."""

from __future__ import annotations

import pytest

from tests.contract.conftest import cents, demo_invoices, entries_by_ref, exact_division

pytestmark = pytest.mark.contract


def test_the_demo_has_a_handful_of_invoices_since_sync_from(backfilled):
    assert 1 <= len(backfilled) <= 40, f"{len(backfilled)} demo invoices since Sync from: choose another date"


def test_each_invoice_since_sync_from_is_booked_exactly_once(installed, backfilled):
    entries = entries_by_ref(installed.service)
    assert {number: len(entries[number]) for number in backfilled} == dict.fromkeys(backfilled, 1)
    duplicates = {ref: len(found) for ref, found in entries.items() if len(found) > 1}
    assert duplicates == {}


def test_each_entry_carries_the_invoice_pdf_as_its_one_attachment(installed, backfilled):
    division = exact_division(installed.service)
    entries = entries_by_ref(installed.service)
    for number in backfilled:
        document = entries[number][0]["Document"]
        assert document, f"entry of invoice {number} has no document"
        attachments = [a for a in division["attachments"] if a["Document"] == document]
        assert [a["FileName"] for a in attachments] == [f"{number}.pdf"], number


def test_each_entry_total_equals_eduframes_total_incl_to_the_cent(installed, backfilled):
    entries = entries_by_ref(installed.service)
    totals = {number: cents(entries[number][0]["AmountFC"]) for number in backfilled}
    assert totals == {number: cents(invoice["total_incl"]) for number, invoice in backfilled.items()}


def test_the_demo_invoices_dated_before_sync_from_are_not_booked(installed, backfilled):
    older = demo_invoices(installed, since_sync_from=False)
    assert older, "the demo has no invoice before Sync from"
    assert sorted(set(older) & set(entries_by_ref(installed.service))) == []
