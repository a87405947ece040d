"""The settings page's VAT suggestion and the booking's VAT choice use one matcher, so they never disagree."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugin.selectors import vat_suggestions
from sync.eduframe.entities import InvoiceVat
from sync.exact.entities import VatCode
from sync.services.plan_vat import vat_choose

CODES = [
    VatCode("2", "BTW hoog", Decimal("0.21"), "E", "S"),
    VatCode("4", "Half procent", Decimal("0.005"), "E", "S"),
    VatCode("7", "Vijftig procent", Decimal("0.5"), "E", "S"),
    VatCode("0", "BTW 0%", Decimal("0"), "B", "S"),
]


@pytest.mark.parametrize(
    ("percentage", "expected"),
    [(Decimal("21.0"), "2"), (Decimal("0.5"), "4"), (Decimal("50"), "7"), (Decimal("9"), None)],
)
def test_the_settings_suggestion_and_the_booking_pick_the_same_code(percentage, expected):
    rate = InvoiceVat(3, f"{percentage}%", percentage, True)

    suggested = vat_suggestions(rates=[rate], vat_codes=CODES).get(rate.id)
    chosen = vat_choose(vat_id=rate.id, rate=rate, mappings={}, sales_vat_codes=CODES, division=1)

    assert suggested == expected
    assert (chosen.code or None) == expected


def test_an_including_code_of_the_same_percentage_is_no_candidate_for_a_net_line():
    # Exact reads a line's AmountFC as gross on an including ("I") code; we send net amounts, so a division with
    # "2" (21% excluding) and "4" (21% including), as Exact's Dutch template has, still maps 21% to "2".
    codes = [*CODES, VatCode("4", "BTW hoog incl.", Decimal("0.21"), "I", "S")]
    rate = InvoiceVat(3, "21%", Decimal("21.0"), True)
    assert vat_choose(vat_id=rate.id, rate=rate, mappings={}, sales_vat_codes=codes, division=1).code == "2"
    assert vat_suggestions(rates=[rate], vat_codes=codes) == {rate.id: "2"}


@pytest.mark.django_db
def test_a_division_with_an_including_code_books_the_rate_on_the_excluding_one(world, exact_sandbox):
    from sandbox.exact.division import DEFAULT_VAT_CODES
    from tests.sync.booking.conftest import DIVISION

    including = {
        "Code": "4",
        "Description": "BTW hoog incl.",
        "Percentage": 0.21,
        "Type": "I",
        "VATTransactionType": "S",
    }
    exact_sandbox.state.seed_division(DIVISION, "Test Academy B.V.", vat_codes=[*DEFAULT_VAT_CODES, including])
    invoice = world.invoice([world.item("Cursus", "100.00")])
    attempt = world.sync(invoice)
    assert attempt.outcome == "created", attempt.message
    entry = world.entry(invoice)
    assert [line["VATCode"].strip() for line in entry["SalesEntryLines"]] == ["2"]
    assert Decimal(str(entry["AmountFC"])) == Decimal("121.00")
