"""The pure mapping, without any HTTP: VAT to the cent, problems by label, discounts, the fingerprint."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from plugin.models import GlobalSettings
from sync.eduframe.entities import Account, Invoice, InvoiceVat
from sync.exact.entities import VatCode
from sync.services.entry_plan import entry_plan_build, fingerprint

HIGH = InvoiceVat(1, "21% BTW", Decimal("21.0"), True)
SALES_CODES = [
    VatCode("2", "BTW hoog", Decimal("0.21"), "E", "S"),
    VatCode("1", "BTW laag", Decimal("0.09"), "E", "S"),
    VatCode("0", "BTW 0%", Decimal("0"), "B", "S"),
    VatCode("5", "Vrijgesteld", Decimal("0"), "N", "S"),
]


def _settings(**changes) -> GlobalSettings:
    values = {"division": 1234567, "journal_code": "70", "ledger_code": "8000", "sync_from": "2026-01-01"}
    return GlobalSettings(**{**values, **changes})


def _invoice(items, total_excl, total_incl, **changes) -> Invoice:
    row = {
        "id": 7,
        "number": "2026-0007",
        "status": "open",
        "opened_at": "2026-03-02",
        "expiration_date": "2026-04-01",
        "description": "",
        "reference_id": "7300170000000071",
        "feature": None,
        "account_id": 3,
        "account_name": "Noord",
        "total_excl": total_excl,
        "total_incl": total_incl,
        "invoice_items": [
            {"id": n, "name": name, "units": 1, "unit_price": price, "invoice_vat_id": 1}
            for n, (name, price) in enumerate(items, start=1)
        ],
        **changes,
    }
    return Invoice.from_api(row)


def _plan(invoice, settings=None, rates=(HIGH,)):
    account = Account.from_api({"id": 3, "name": "Noord", "email": "a@b.example", "address": None, "custom": {}})
    return entry_plan_build(
        invoice=invoice,
        account=account,
        vat_number="",
        vat_rates={rate.id: rate for rate in rates},
        item_courses={},
        global_settings=settings or _settings(),
        overrides={},
        vat_mappings={},
        sales_vat_codes=SALES_CODES,
    )


def test_a_rounding_difference_goes_on_the_line_with_the_largest_amount():
    # Per line: 0.11 + 0.11 + 21.00; Eduframe rounded on the total: 21.21.
    plan = _plan(_invoice([("A", "0.50"), ("B", "0.50"), ("C", "100.00")], "101.00", "122.21"))
    assert [line.vat_amount_fc for line in plan.lines] == [Decimal("0.11"), Decimal("0.11"), Decimal("20.99")]
    assert plan.total_incl == Decimal("122.21")


def test_an_empty_description_becomes_invoice_and_number_with_the_feature_appended():
    plan = _plan(_invoice([("A", "10.00")], "10.00", "12.10", feature="PO-1"))
    assert plan.description == "Invoice 2026-0007 - PO-1"


def test_missing_global_settings_are_named_by_their_labels():
    plan = _plan(_invoice([("A", "10.00")], "10.00", "12.10"), _settings(division=None, sync_from=None, ledger_code=""))
    reasons = [problem.reason for problem in plan.problems]
    assert "The setting 'Division' is empty." in reasons
    assert "The setting 'Sync from' is empty." in reasons
    assert "No ledger for the line 'A': the setting 'Ledger code' is empty." in reasons


def test_a_rate_without_a_sales_code_of_its_percentage_is_a_problem():
    odd = InvoiceVat(1, "6% BTW", Decimal("6.0"), True)
    plan = _plan(_invoice([("A", "10.00")], "10.00", "10.60"), rates=(odd,))
    assert plan.problems[0].reason.startswith("No Exact VAT code for the Eduframe VAT rate '6% BTW': no sales VAT")


def test_a_line_without_a_vat_rate_waits_with_its_name_and_what_to_do_in_eduframe():
    invoice = _invoice([("Boek", "10.00")], "10.00", "10.00")
    invoice = dataclasses.replace(invoice, items=(dataclasses.replace(invoice.items[0], invoice_vat_id=None),))
    plan = _plan(invoice)
    assert [(p.reason, p.fix_hint) for p in plan.problems] == [
        (
            "The line 'Boek' has no VAT rate in Eduframe, and Exact needs a VAT code on every line",
            "Give the invoice line a VAT rate in Eduframe; the invoice is booked once Eduframe sends the change.",
        )
    ]


def test_a_line_whose_vat_rate_eduframe_no_longer_lists_names_the_rate_id():
    plan = _plan(_invoice([("Boek", "10.00")], "10.00", "12.10"), rates=())
    assert (
        plan.problems[0].reason == "The VAT rate of the line 'Boek' (Eduframe id 1) is not among Eduframe's VAT rates"
    )


def test_a_negative_item_on_a_positive_invoice_is_a_discount_but_not_on_a_credit_invoice():
    discounted = _plan(_invoice([("Cursus", "100.00"), ("Korting", "-10.00")], "90.00", "108.90"))
    credit = _plan(_invoice([("Cursus", "-100.00"), ("Boek", "-10.00")], "-110.00", "-133.10"))
    assert [line.is_discount for line in discounted.lines] == [False, True]
    assert [line.is_discount for line in credit.lines] == [False, False]


def test_the_fingerprint_ignores_the_payment_status_but_not_the_amounts():
    base = fingerprint(_plan(_invoice([("A", "10.00")], "10.00", "12.10")))
    paid = fingerprint(_plan(_invoice([("A", "10.00")], "10.00", "12.10", status="paid")))
    changed = fingerprint(_plan(_invoice([("A", "11.00")], "11.00", "13.31")))
    assert base == paid
    assert base != changed


def test_an_invoice_without_lines_is_a_problem_before_exact_is_asked():
    plan = _plan(_invoice([], "0.00", "0.00"))
    assert [problem.reason for problem in plan.problems] == ["The invoice has no lines."]
