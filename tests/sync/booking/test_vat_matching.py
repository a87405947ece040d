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
