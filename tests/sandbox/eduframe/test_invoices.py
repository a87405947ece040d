"""The invoice lifecycle, derived totals and the invoice JSON shape."""

from __future__ import annotations

import re

import pytest

from .helpers import course_line

INVOICE_KEYS = {
    "id", "reference_id", "number", "number_int", "order_id", "order_number", "status", "expiration_date",
    "opened_at", "description", "account_name", "account_id", "currency", "total_excl", "total_incl",
    "total_open", "pdf_url", "xml_url", "feature", "footnote", "created_at", "updated_at", "invoice_items",
}  # fmt: skip
ITEM_KEYS = {"id", "name", "units", "unit_price", "invoice_vat_id", "catalog_variant_id", "created_at", "updated_at"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


@pytest.fixture
def invoice(state, world):
    return state.add_invoice(world.account["id"], [course_line(world, units=2)], feature="PO-1")


def test_an_invoice_has_every_schema_key_with_null_for_blanks(api, invoice):
    body = api.get(f"/invoices/{invoice['id']}").json()
    assert set(body) == INVOICE_KEYS
    assert set(body["invoice_items"][0]) == ITEM_KEYS
    assert body["footnote"] is None


def test_a_concept_invoice_has_no_number_and_no_dates(api, invoice):
    body = api.get(f"/invoices/{invoice['id']}").json()
    assert (body["status"], body["number"], body["opened_at"], body["expiration_date"]) == ("concept", None, None, None)


def test_timestamps_carry_milliseconds_and_an_offset(api, invoice):
    body = api.get(f"/invoices/{invoice['id']}").json()
    assert TIMESTAMP.match(body["created_at"])
    assert TIMESTAMP.match(body["invoice_items"][0]["updated_at"])


def test_totals_are_derived_from_the_items_as_decimal_strings(api, invoice):
    body = api.get(f"/invoices/{invoice['id']}").json()
    assert (body["total_excl"], body["total_incl"], body["total_open"]) == ("1190.00", "1439.90", "1439.90")


def test_vat_is_rounded_per_line_half_up(state, world):
    lines = [{"name": "a", "units": 1, "unit_price": "0.50", "invoice_vat_id": world.high["id"]}] * 2
    invoice = state.add_invoice(world.account["id"], lines)
    # 0.105 per line rounds up to 0.11; rounding the sum (0.21) instead would give 1.21.
    assert invoice["total_incl"] == "1.22"


def test_mixed_vat_rates_add_up_per_line(state, world):
    lines = [course_line(world), {"name": "Boek", "units": 1, "unit_price": "49.95", "invoice_vat_id": world.low["id"]}]
    invoice = state.add_invoice(world.account["id"], lines)
    assert (invoice["total_excl"], invoice["total_incl"]) == ("644.95", "774.40")


def test_opening_assigns_the_next_number_and_the_dates(api, state, invoice):
    body = api.post(f"/invoices/{invoice['id']}/open").json()
    assert (body["status"], body["number"], body["number_int"]) == ("open", "2026-0001", 20260001)
    assert (body["opened_at"], body["expiration_date"]) == ("2026-06-01", "2026-07-01")


def test_opening_gives_consecutive_numbers(state, world):
    first = state.add_invoice(world.account["id"], [course_line(world)], status="open")
    second = state.add_invoice(world.account["id"], [course_line(world)], status="open")
    assert (first["number"], second["number"]) == ("2026-0001", "2026-0002")


def test_opening_a_non_concept_invoice_does_nothing(api, state, invoice):
    state.open_invoice(invoice["id"])
    before = api.get(f"/invoices/{invoice['id']}").json()
    assert api.post(f"/invoices/{invoice['id']}/open").json() == before


def test_an_opened_invoice_has_a_long_numeric_reference_id(invoice):
    assert invoice["reference_id"].isdigit()
    assert len(invoice["reference_id"]) == 16


def test_every_action_bumps_updated_at(state, invoice):
    stamps = [invoice["updated_at"]]
    for action in (state.open_invoice, state.pay_invoice):
        action(invoice["id"])
        stamps.append(invoice["updated_at"])
    assert stamps == sorted(set(stamps))


def test_renaming_the_account_keeps_the_invoices_account_name(api, state, world, invoice):
    state.rename_account(world.account["id"], "Nieuwe Naam B.V.")
    assert api.get(f"/invoices/{invoice['id']}").json()["account_name"] == "Voorbeeld Opleidingen B.V."
    assert api.get(f"/accounts/{world.account['id']}").json()["name"] == "Nieuwe Naam B.V."


def test_editing_keeps_item_ids_and_recomputes_totals(state, world, invoice):
    item = dict(invoice["invoice_items"][0], units=1)
    state.edit_invoice(invoice["id"], items=[item], feature="PO-2")
    assert invoice["invoice_items"][0]["id"] == item["id"]
    assert (invoice["total_excl"], invoice["feature"]) == ("595.00", "PO-2")


def test_an_edited_item_gets_a_new_updated_at(state, invoice):
    item = invoice["invoice_items"][0]
    before = item["updated_at"]
    state.edit_invoice(invoice["id"], items=[dict(item, unit_price="500.00")])
    assert item["updated_at"] > before


def test_a_partial_payment_lowers_total_open(api, state, invoice):
    state.open_invoice(invoice["id"])
    state.pay_invoice(invoice["id"], "439.90")
    body = api.get(f"/invoices/{invoice['id']}").json()
    assert (body["status"], body["total_open"]) == ("open", "1000.00")


def test_paying_the_rest_makes_the_invoice_paid(state, invoice):
    state.open_invoice(invoice["id"])
    state.pay_invoice(invoice["id"], "439.90")
    state.pay_invoice(invoice["id"])
    assert (invoice["status"], invoice["total_open"]) == ("paid", "0.00")


def test_payments_are_listed_per_invoice(api, state, invoice):
    state.open_invoice(invoice["id"])
    state.pay_invoice(invoice["id"], "100")
    payments = api.get(f"/invoices/{invoice['id']}/payments").json()
    assert [(p["amount"], p["currency"], p["status"]) for p in payments] == [("100.00", "EUR", "paid")]


def test_a_concept_invoice_cannot_be_paid(state, invoice):
    with pytest.raises(Exception, match="concept"):
        state.pay_invoice(invoice["id"])


def test_expiring_an_open_invoice_sets_status_expired(state, invoice):
    state.open_invoice(invoice["id"])
    state.expire_invoice(invoice["id"])
    assert invoice["status"] == "expired"


def test_moving_the_clock_past_the_due_date_expires_open_invoices(anonymous, state, invoice):
    state.open_invoice(invoice["id"])
    response = anonymous.post("/_sandbox/clock", json={"advance": 31 * 86400})
    assert response.json()["expired"] == [invoice["id"]]
    assert invoice["status"] == "expired"


def test_a_deleted_invoice_is_a_404_and_leaves_the_list(api, state, invoice):
    state.delete_invoice(invoice["id"])
    assert api.get(f"/invoices/{invoice['id']}").status_code == 404
    assert api.get("/invoices").json() == []


def test_an_opened_invoice_can_be_deleted_by_default(state, invoice):
    state.open_invoice(invoice["id"])
    assert state.delete_invoice(invoice["id"])["_deleted"]


def test_deleting_an_opened_invoice_is_refused_when_the_switch_is_off(state, invoice):
    state.allow_delete_non_concept = False
    state.open_invoice(invoice["id"])
    with pytest.raises(Exception, match="Only concept invoices"):
        state.delete_invoice(invoice["id"])


def test_a_discount_code_becomes_a_negative_line_with_the_course_vat(state, world):
    state.add_discount_code("EARLY", "fixed", 35)
    invoice = state.add_invoice(world.account["id"], [course_line(world)], discount_code="EARLY")
    discount = invoice["invoice_items"][1]
    assert (discount["name"], discount["unit_price"], discount["invoice_vat_id"]) == (
        "Korting: EARLY",
        "-35.00",
        world.high["id"],
    )
    assert invoice["total_excl"] == "560.00"


def test_a_discount_can_be_folded_into_the_unit_price(state, world):
    state.discount_mode = "folded"
    state.add_discount_code("TIEN", "percentage", 10)
    invoice = state.add_invoice(world.account["id"], [course_line(world)], discount_code="TIEN")
    assert [item["unit_price"] for item in invoice["invoice_items"]] == ["535.50"]


def test_an_orders_discount_code_applies_to_its_invoice(state, world):
    state.add_discount_code("WELKOM25", "fixed", 25)
    order = state.add_order(world.account["id"], world.variant["id"], discount_code="WELKOM25")
    invoice = state.add_invoice(world.account["id"], [course_line(world)], order_id=order["id"])
    assert invoice["invoice_items"][-1]["unit_price"] == "-25.00"
    assert (invoice["order_id"], order["total_discount"]) == (order["id"], "25.00")


def test_a_credit_invoice_has_negative_totals(state, world):
    invoice = state.add_invoice(world.account["id"], [course_line(world, unit_price="-595.00")], status="open")
    assert (invoice["total_excl"], invoice["total_incl"]) == ("-595.00", "-719.95")


def test_creating_an_invoice_over_the_api_returns_201(api, world):
    body = {"account_id": world.account["id"], "invoice_items_attributes": [course_line(world)]}
    response = api.post("/invoices", json=body)
    assert response.status_code == 201
    assert response.json()["status"] == "concept"


def test_creating_an_invoice_for_an_unknown_account_is_a_404(api, world):
    response = api.post("/invoices", json={"account_id": 1, "invoice_items_attributes": []})
    assert response.status_code == 404


def test_an_item_without_a_price_is_a_422(api, world):
    body = {"account_id": world.account["id"], "invoice_items_attributes": [{"name": "x", "units": 1}]}
    response = api.post("/invoices", json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == {"invoice_items.unit_price": ["can't be blank"]}


def test_an_account_shows_its_address_and_custom_fields(api, world):
    body = api.get(f"/accounts/{world.account['id']}").json()
    assert body["custom"] == {"btw-nummer": "NL123456789B01"}
    assert body["address"]["country"] == "NL"
    assert body["address"]["state_province"] is None


def test_a_planned_courses_variant_points_back_to_it(api, world):
    variant = api.get(f"/catalog/variants/{world.variant['id']}").json()
    product = api.get(f"/catalog/products/{variant['product_id']}").json()
    assert (variant["variantable_type"], variant["variantable_id"]) == ("PlannedCourse", world.edition["id"])
    assert (product["productable_type"], product["productable_id"]) == ("Course", world.course["id"])


def test_invoice_vats_are_listed_with_name_percentage_and_has_vat(api, world):
    rows = api.get("/invoice_vats").json()
    assert [(row["name"], row["percentage"], row["has_vat"]) for row in rows] == [
        ("21% BTW", "21.0", True),
        ("9% BTW", "9.0", True),
        ("0% BTW", "0.0", False),
    ]


def test_planned_courses_are_listed_and_read_with_their_course(api, world):
    rows = api.get("/planned_courses").json()
    assert [(row["id"], row["course_id"]) for row in rows] == [(world.edition["id"], world.course["id"])]
    one = api.get(f"/planned_courses/{world.edition['id']}").json()
    assert (one["start_date"], one["course_id"]) == ("2026-09-15", world.course["id"])


def test_discount_codes_are_listed(api, state):
    state.add_discount_code("EARLY", "fixed", 35)
    rows = api.get("/discount_codes").json()
    assert [(row["discount_code"], row["discount_type"]) for row in rows] == [("EARLY", "fixed")]


def test_orders_are_listed_with_their_account_variant_and_discount(api, state, world):
    state.add_discount_code("WELKOM25", "fixed", 25)
    order = state.add_order(world.account["id"], world.variant["id"], discount_code="WELKOM25")
    (row,) = api.get("/orders").json()
    assert (row["id"], row["account_id"], row["catalog_variant_id"]) == (
        order["id"],
        world.account["id"],
        world.variant["id"],
    )
    assert (row["discount_code"], row["total_discount"]) == ("WELKOM25", "25.00")
    assert api.get(f"/orders/{order['id']}").json()["id"] == order["id"]
