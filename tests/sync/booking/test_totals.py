"""Entry totals equal Eduframe's total_incl to the cent, whatever the VAT rates and rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugin.models import VatMapping
from tests.sync.booking.conftest import entry_total

pytestmark = pytest.mark.django_db


def _book(world, items) -> tuple[dict, dict]:
    invoice = world.invoice(items)
    world.sync(invoice)
    return world.eduframe.get_invoice(invoice["id"]), world.entry(invoice)


@pytest.mark.parametrize(
    ("rate", "price"),
    [("vat_high", "595.00"), ("vat_low", "37.45"), ("vat_zero", "250.00")],
    ids=["21%", "9%", "0%"],
)
def test_the_entry_total_equals_eduframes_total_for_one_rate(world, rate, price):
    invoice, entry = _book(world, [world.item(price=price, vat=getattr(world, rate))])
    assert entry_total(entry) == Decimal(invoice["total_incl"])
    assert Decimal(str(entry["AmountFC"])) == Decimal(invoice["total_incl"])


def test_the_entry_total_equals_eduframes_total_for_mixed_rates(world):
    items = [
        world.item("Cursus", "1195.00", vat=world.vat_high),
        world.item("Lunch", "17.35", units=3, vat=world.vat_low),
        world.item("Examen", "95.00", vat=world.vat_zero),
    ]
    invoice, entry = _book(world, items)
    assert entry_total(entry) == Decimal(invoice["total_incl"])
    assert [line["VATCode"].strip() for line in entry["SalesEntryLines"]] == ["2", "1", "0"]


def test_it_books_a_one_cent_rounding_difference_so_the_total_still_matches(world):
    # Two lines of 0.50 at 21%: per line 0.11 + 0.11, on the total 0.21. Eduframe here rounds on the total.
    invoice = world.invoice([world.item("A", "0.50"), world.item("B", "0.50")])
    with world.eduframe.lock:
        world.eduframe.tables["invoices"][invoice["id"]]["total_incl"] = "1.21"
    world.sync(invoice)
    entry = world.entry(invoice)
    assert entry_total(entry) == Decimal("1.21")
    assert sorted(line["VATAmountFC"] for line in entry["SalesEntryLines"]) == [0.1, 0.11]


def test_it_books_a_credit_invoice_with_negative_lines_as_a_credit_entry(world):
    invoice, entry = _book(world, [world.item("Creditering cursus", "-595.00"), world.item("Boek", "-20.00")])
    assert [line["AmountFC"] for line in entry["SalesEntryLines"]] == [-595.0, -20.0]
    assert entry_total(entry) == Decimal(invoice["total_incl"]) == Decimal("-744.15")
    assert entry["Type"] == 21


def test_a_rate_mapped_to_a_no_vat_code_is_booked_without_a_vat_amount(world):
    # "Vrijgesteld van btw" (type N), the usual code for exempt education: Exact refuses any VAT amount on it.
    VatMapping.objects.filter(installation=world.installation, eduframe_vat_id=world.vat_zero["id"]).update(
        exact_vat_code="5"
    )
    items = [world.item("Cursus", "250.00", vat=world.vat_zero), world.item("Boek", "40.00", vat=world.vat_high)]
    invoice = world.invoice(items)
    attempt = world.sync(invoice)
    assert attempt.outcome == "created", attempt.message
    entry = world.entry(invoice)
    sent = attempt.request_payload["entry"]["SalesEntryLines"]
    assert "VATAmountFC" not in sent[0]
    assert sent[1]["VATAmountFC"] == "8.40"
    assert [line["VATCode"].strip() for line in entry["SalesEntryLines"]] == ["5", "2"]
    assert Decimal(str(entry["AmountFC"])) == Decimal(world.eduframe.get_invoice(invoice["id"])["total_incl"])


def test_a_line_moved_to_a_no_vat_code_is_updated_in_place_to_zero_vat(world):
    VatMapping.objects.filter(installation=world.installation, eduframe_vat_id=world.vat_zero["id"]).update(
        exact_vat_code="5"
    )
    invoice = world.invoice([world.item("Cursus", "250.00", vat=world.vat_high)])
    world.sync(invoice)
    item_id = world.eduframe.get_invoice(invoice["id"])["invoice_items"][0]["id"]
    world.eduframe.edit_invoice(
        invoice["id"], items=[{**world.item("Cursus", "250.00", vat=world.vat_zero), "id": item_id}]
    )
    attempt = world.sync(invoice)
    assert attempt.outcome == "updated", attempt.message
    entry = world.entry(invoice)
    assert [(line["VATCode"].strip(), line["VATAmountFC"]) for line in entry["SalesEntryLines"]] == [("5", 0.0)]
    assert Decimal(str(entry["AmountFC"])) == Decimal("250.00")
