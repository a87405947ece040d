"""Shapes a real Exact or Eduframe sends that a lenient double would not: padded VAT codes, quotes in filter
values, accounts switched in Eduframe, entries already gone, invoices worth nothing (notes 3.3, 3.4, 5.2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.connections.exact import exact_client_for
from tests.sync.booking.conftest import DIVISION

pytestmark = pytest.mark.django_db


def _record(world, invoice):
    record = world.record(invoice)
    record.refresh_from_db()
    return record


@pytest.fixture
def padded(world):
    """A division whose VAT codes come back padded to 3 characters ("0  ")."""
    world.exact.pad_vat_codes = True
    del world.exact.divisions[DIVISION]
    world.exact.seed_division(DIVISION, "Test Academy B.V.")
    return world


def test_padded_vat_codes_are_matched_and_a_resync_costs_no_call(padded):
    invoice = padded.invoice([padded.item(), padded.item(vat=padded.vat_zero, price="10.00")])
    padded.sync(invoice)
    assert _record(padded, invoice).state == "booked"
    before = len(padded.exact_requests())
    assert padded.sync(invoice).outcome == "unchanged"
    assert len(padded.exact_requests()) == before


def test_a_changed_line_next_to_a_padded_vat_code_updates_only_that_line(padded):
    invoice = padded.invoice([padded.item(), padded.item(vat=padded.vat_zero, price="10.00")])
    padded.sync(invoice)
    padded.eduframe.edit_invoice(
        invoice["id"], items=[padded.item(price="120.00"), padded.item(vat=padded.vat_zero, price="10.00")]
    )
    before = len(padded.exact_requests())
    padded.sync(invoice)
    writes = [r for r in padded.exact_requests()[before:] if r["method"] in ("PUT", "POST", "DELETE")]
    assert [(r["method"], r["endpoint"]) for r in writes if "SalesEntryLines" in r["endpoint"]] == [
        ("PUT", "salesentry/SalesEntryLines")
    ]


@pytest.fixture
def unpadded(world):
    """A division whose VAT codes come back trimmed ("0"): the sandbox's switch away from its padded default."""
    world.exact.pad_vat_codes = False
    return world


def test_unpadded_vat_codes_are_matched_and_a_resync_costs_no_call(unpadded):
    invoice = unpadded.invoice([unpadded.item(), unpadded.item(vat=unpadded.vat_zero, price="10.00")])
    unpadded.sync(invoice)
    assert _record(unpadded, invoice).state == "booked"
    assert {line["VATCode"] for line in unpadded.entry(invoice)["SalesEntryLines"]} == {"2", "0"}
    before = len(unpadded.exact_requests())
    assert unpadded.sync(invoice).outcome == "unchanged"
    assert len(unpadded.exact_requests()) == before


def test_an_email_with_an_apostrophe_finds_the_accountants_account(world):
    client = exact_client_for(world.installation)
    existing = client.create_account(DIVISION, {"Name": "O'Brien", "Email": "o'brien@example.com", "Status": "C"})
    invoice = world.invoice([world.item()], account=world.account(name="O'Brien", email="o'brien@example.com"))
    world.sync(invoice)
    assert len(world.division()["accounts"]) == 1
    assert world.entry(invoice)["Customer"] == str(existing.id)


def test_an_invoice_moved_to_another_account_moves_its_entry_in_place(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    entry_id = world.entry(invoice)["EntryID"]
    other = world.account(name="Zuid B.V.", email="finance@zuid.example")
    row = world.eduframe.tables["invoices"][invoice["id"]]
    # As Eduframe does on any edit: the invoice's updated_at moves with the new account.
    row.update(account_id=other["id"], updated_at=row["updated_at"] + timedelta(seconds=1))
    world.sync(invoice)
    entry = world.entry(invoice)
    assert entry["EntryID"] == entry_id
    customer = next(a for a in world.division()["accounts"] if a["ID"] == entry["Customer"])
    assert customer["Code"].strip() == f"EF{other['id']}"


def test_a_deleted_invoice_whose_entry_is_already_gone_from_exact_counts_as_done(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    entry_id = world.entry(invoice)["EntryID"]
    client = exact_client_for(world.installation)
    client.delete_sales_entry(DIVISION, entry_id)
    world.eduframe.delete_invoice(invoice["id"])
    world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == "deleted"
    assert "already gone" in record.reason


def test_an_invoice_worth_nothing_and_decimal_units_are_booked_to_the_cent(world):
    items = [world.item(price="0.00"), world.item(price="33.33"), world.item(units=0, price="50.00")]
    invoice = world.invoice(items)
    # The spec types units as an integer, but creating accepts any number: make one 1.5 as a tenant could.
    stored = world.eduframe.tables["invoices"][invoice["id"]]
    stored["invoice_items"][1]["units"] = 1.5
    world.eduframe._recompute(stored)
    world.sync(invoice)
    assert _record(world, invoice).state == "booked"
    lines = world.entry(invoice)["SalesEntryLines"]
    assert [line["AmountFC"] for line in lines] == [0.0, 50.0, 0.0]


def test_a_credit_invoice_becomes_a_credit_note(world):
    invoice = world.invoice([world.item(price="-100.00")])
    world.sync(invoice)
    entry = world.entry(invoice)
    assert entry["Type"] == 21
    assert entry["AmountFC"] == -121.0


def test_moving_an_invoice_to_another_account_keeps_eduframes_payment_reference(world):
    # Exact regenerates the payment reference when a PUT re-points Customer (notes 5.2, [R S19]).
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    reference = world.entry(invoice)["PaymentReference"]
    other = world.account(name="Zuid B.V.", email="finance@zuid.example")
    row = world.eduframe.tables["invoices"][invoice["id"]]
    # As Eduframe does on any edit: the invoice's updated_at moves with the new account.
    row.update(account_id=other["id"], updated_at=row["updated_at"] + timedelta(seconds=1))
    world.sync(invoice)
    assert world.entry(invoice)["PaymentReference"] == reference
