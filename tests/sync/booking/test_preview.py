"""The preview: the entry an invoice would become, with the decisions, and no Exact write."""

from __future__ import annotations

import pytest

from sync.services.invoice_preview import invoice_preview

pytestmark = pytest.mark.django_db


def test_the_preview_shows_the_payload_with_placeholders_and_writes_nothing(world):
    invoice = world.invoice([world.item("Cursus", "100.00")])
    preview = invoice_preview(installation=world.installation, eduframe_invoice_id=invoice["id"])
    assert preview.problems == []
    assert preview.payload["Customer"] == "<new account>"
    assert preview.payload["Document"] == "<new document>"
    assert preview.payload["SalesEntryLines"][0]["VATCode"] == "2"
    assert preview.decisions[0]["vat_code"] == "percentage match"
    assert all(request["method"] == "GET" for request in world.exact_requests())


def test_the_preview_of_a_booked_invoice_shows_the_known_account_and_document(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    preview = invoice_preview(installation=world.installation, eduframe_invoice_id=invoice["id"])
    assert preview.payload["Customer"] == world.entry(invoice)["Customer"]
    assert preview.payload["Document"] == str(record.exact_document_id)


def test_the_preview_names_what_stops_the_booking(world):
    world.settings.ledger_code = ""
    world.settings.save()
    invoice = world.invoice([world.item("Cursus")])
    preview = invoice_preview(installation=world.installation, eduframe_invoice_id=invoice["id"])
    assert [p.reason for p in preview.problems] == [
        "No ledger for the line 'Cursus': the setting 'Ledger code' is empty."
    ]
