"""Every field of the mapping, as it lands in the Exact sandbox after one booking over real HTTP."""

from __future__ import annotations

import pytest

from plugin.models import CourseOverride
from sync.connections.eduframe import eduframe_client
from sync.connections.exact import exact_client_for
from sync.exact.entities import ExactAttachment
from tests.factories import CourseOverrideFactory

pytestmark = pytest.mark.django_db


def _account_of(world, entry: dict) -> dict:
    return next(a for a in world.division()["accounts"] if a["ID"] == entry["Customer"])


def _gl_code(world, line: dict) -> str:
    return next(g["Code"] for g in world.division()["gl_accounts"] if g["ID"] == line["GLAccount"])


def test_it_books_the_account_with_name_email_address_country_and_vat_number(world):
    account = world.account("Delta Techniek B.V.", custom={"btw-nummer": "NL000099998B57"})
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    exact_account = _account_of(world, world.entry(invoice))
    assert exact_account["Code"].strip() == f"EF{account['id']}"
    assert exact_account["Status"] == "C"
    assert exact_account["Name"] == "Delta Techniek B.V."
    assert exact_account["Email"] == "finance@noord.example"
    assert exact_account["AddressLine1"] == "Stationsplein 1 3e etage"
    assert (exact_account["Postcode"], exact_account["City"]) == ("3511 ED", "Utrecht")
    assert exact_account["Country"].strip() == "NL"
    assert exact_account["VATNumber"] == "NL000099998B57"


def test_it_books_the_entry_header_from_the_invoice(world):
    invoice = world.invoice([world.item("Projectmanagement")], feature="PO-4711")
    world.sync(invoice)
    entry = world.entry(invoice)
    invoice = world.eduframe.get_invoice(invoice["id"])
    assert entry["Journal"] == "70"
    assert entry["YourRef"] == invoice["number"]
    assert entry["Description"] == f"{invoice['description']} - PO-4711"
    assert entry["EntryDate"][:10] == invoice["opened_at"].isoformat()
    assert entry["DueDate"][:10] == invoice["expiration_date"].isoformat()
    assert entry["PaymentReference"] == invoice["reference_id"]


def test_it_books_each_item_as_a_line_with_description_quantity_amount_and_vat_code(world):
    invoice = world.invoice([world.item("Lesmateriaal", "12.50", units=3, vat=world.vat_low)])
    world.sync(invoice)
    (line,) = world.entry(invoice)["SalesEntryLines"]
    assert line["Description"] == "Lesmateriaal"
    assert line["Quantity"] == 3
    assert line["AmountFC"] == 37.5
    assert line["VATCode"].strip() == "1"
    assert line["VATAmountFC"] == 3.38
    assert _gl_code(world, line) == "8000"


def test_it_takes_ledger_cost_center_and_cost_unit_from_the_course_edition(world):
    course, edition, variant = world.edition()
    CourseOverrideFactory(
        installation=world.installation,
        scope=CourseOverride.Scope.EDITION,
        eduframe_id=edition["id"],
        ledger_code="8010",
        cost_center="200",
        cost_unit="20",
    )
    invoice = world.invoice([world.item(variant=variant)])
    attempt = world.sync(invoice)
    (line,) = world.entry(invoice)["SalesEntryLines"]
    assert (_gl_code(world, line), line["CostCenter"], line["CostUnit"]) == ("8010", "200", "20")
    assert attempt.decisions[0]["ledger"] == f"edition {edition['id']}"


def test_it_falls_back_to_the_course_template(world):
    course, edition, variant = world.edition()
    CourseOverrideFactory(
        installation=world.installation,
        scope=CourseOverride.Scope.TEMPLATE,
        eduframe_id=course["id"],
        ledger_code="8010",
        cost_center="100",
        cost_unit="10",
    )
    invoice = world.invoice([world.item(variant=variant)])
    attempt = world.sync(invoice)
    (line,) = world.entry(invoice)["SalesEntryLines"]
    assert (_gl_code(world, line), line["CostCenter"], line["CostUnit"]) == ("8010", "100", "10")
    assert attempt.decisions[0]["cost_center"] == f"template {course['id']}"


def test_it_resolves_each_field_on_its_own_edition_then_template_then_global(world):
    course, edition, variant = world.edition()
    CourseOverrideFactory(
        installation=world.installation, scope=CourseOverride.Scope.TEMPLATE, eduframe_id=course["id"], cost_unit="10"
    )
    CourseOverrideFactory(
        installation=world.installation,
        scope=CourseOverride.Scope.EDITION,
        eduframe_id=edition["id"],
        cost_center="200",
    )
    invoice = world.invoice([world.item(variant=variant)])
    attempt = world.sync(invoice)
    (line,) = world.entry(invoice)["SalesEntryLines"]
    assert (_gl_code(world, line), line["CostCenter"], line["CostUnit"]) == ("8000", "200", "10")
    decisions = attempt.decisions[0]
    assert decisions["ledger"] == "global"
    assert decisions["cost_center"] == f"edition {edition['id']}"
    assert decisions["cost_unit"] == f"template {course['id']}"


def test_it_uses_the_global_ledger_and_no_cost_center_or_unit_without_overrides(world):
    invoice = world.invoice([world.item()])
    attempt = world.sync(invoice)
    (line,) = world.entry(invoice)["SalesEntryLines"]
    assert (_gl_code(world, line), line["CostCenter"], line["CostUnit"]) == ("8000", None, None)
    assert attempt.decisions[0] == {
        "line": "Cursus",
        "ledger": "global",
        "cost_center": "none",
        "cost_unit": "none",
        "vat_code": "percentage match",
    }


def test_it_books_a_discount_as_its_own_line_without_cost_center_or_unit(world):
    course, edition, variant = world.edition()
    CourseOverrideFactory(
        installation=world.installation,
        scope=CourseOverride.Scope.EDITION,
        eduframe_id=edition["id"],
        ledger_code="8010",
        cost_center="200",
        cost_unit="20",
    )
    world.eduframe.add_discount_code("WELKOM25", "fixed", 25)
    invoice = world.invoice([world.item(price="595.00", variant=variant)], discount_code="WELKOM25")
    world.sync(invoice)
    course_line, discount_line = world.entry(invoice)["SalesEntryLines"]
    assert discount_line["AmountFC"] == -25.0
    assert (discount_line["CostCenter"], discount_line["CostUnit"]) == (None, None)
    assert _gl_code(world, discount_line) == "8010"  # the discounted course's ledger
    assert (course_line["CostCenter"], course_line["CostUnit"]) == ("200", "20")


def test_it_books_a_discount_on_the_discount_ledger_when_one_is_set(world):
    world.settings.discount_ledger_code = "8020"
    world.settings.save()
    invoice = world.invoice([world.item(price="200.00"), world.item("Korting: ZOMER", price="-20.00")])
    attempt = world.sync(invoice)
    discount_line = world.entry(invoice)["SalesEntryLines"][1]
    assert _gl_code(world, discount_line) == "8020"
    assert attempt.decisions[1]["ledger"] == "discount ledger"


def test_it_attaches_the_invoice_pdf_byte_for_byte(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    entry = world.entry(invoice)
    (row,) = [a for a in world.division()["attachments"] if a["Document"] == entry["Document"]]
    attachment = ExactAttachment.from_api({**row, "FileSize": row["FileSize"]})
    exact_bytes = exact_client_for(world.installation).download_attachment(attachment)
    eduframe_bytes = eduframe_client(world.installation).invoice_pdf(invoice["id"])
    assert row["FileName"] == f"{entry['YourRef']}.pdf"
    assert exact_bytes.startswith(b"%PDF")
    assert exact_bytes == eduframe_bytes
