"""The deterministic demo data for both simulators."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from sandbox.demo_data import EXACT_DEMO_DIVISION, load_eduframe_demo
from sandbox.eduframe.clock import Clock
from sandbox.eduframe.state import EduframeState

from .helpers import START


def frozen_state() -> EduframeState:
    return EduframeState(clock=Clock(start=START, ticking=False))


@pytest.fixture(scope="module")
def demo():
    state = frozen_state()
    summary = load_eduframe_demo(state)
    yield state, summary
    state.delivery.stop()


def invoices(demo):
    return list(demo[0].tables["invoices"].values())


def test_two_runs_give_identical_snapshots(demo):
    other = frozen_state()
    load_eduframe_demo(other)
    assert other.snapshot() == demo[0].snapshot()


def test_the_demo_has_the_stated_counts(demo):
    counts = demo[1]
    assert (counts["courses"], counts["planned_courses"], counts["accounts"], counts["invoices"]) == (20, 60, 200, 1000)
    assert (counts["catalog_products"], counts["catalog_variants"], counts["invoice_vats"]) == (20, 60, 3)


def test_invoices_cover_every_status(demo):
    assert set(demo[1]["invoices_by_status"]) == {"concept", "open", "paid", "expired"}


def test_about_half_the_accounts_are_businesses_mostly_with_vat_numbers(demo):
    accounts = demo[0].tables["accounts"].values()
    businesses = [a for a in accounts if a["account_type"] == "business"]
    assert 80 <= len(businesses) <= 120
    assert sum("btw-nummer" in a["custom"] for a in businesses) > 0.8 * len(businesses)


def test_the_vat_number_field_is_not_keyed_vat_number(demo):
    (question,) = [q for q in demo[0].tables["signup_questions"].values() if q["system_name"] == "vat_number"]
    assert (question["slug"], question["field_type"]) == ("btw-nummer", "vat_number")


def test_some_invoices_have_a_negative_discount_line(demo):
    assert any(i["name"].startswith("Korting: ") for inv in invoices(demo) for i in inv["invoice_items"])


def test_some_invoices_mix_vat_rates(demo):
    assert any(len({i["invoice_vat_id"] for i in inv["invoice_items"]}) > 1 for inv in invoices(demo))


def test_a_few_credit_invoices_have_negative_totals(demo):
    credits = [inv for inv in invoices(demo) if Decimal(inv["total_incl"]) < 0]
    assert 5 <= len(credits) <= 60


def test_invoice_dates_lie_within_the_last_six_months(demo):
    created = [inv["created_at"] for inv in invoices(demo)]
    assert min(created) >= START - timedelta(days=190)
    assert max(created) <= START


def test_invoice_numbers_rise_with_the_opening_date(demo):
    opened = sorted((inv["number_int"], inv["opened_at"]) for inv in invoices(demo) if inv["number"])
    assert [day for _, day in opened] == sorted(day for _, day in opened)


def test_loading_the_demo_sends_no_webhooks(receiver):
    state = frozen_state()
    state.add_webhook(receiver.url, ["invoice.created"])
    load_eduframe_demo(state)
    assert state.notifications == {}


def test_the_demo_loads_over_the_control_api(anonymous, state):
    response = anonymous.post("/_sandbox/demo")
    assert (response.status_code, response.json()["invoices"]) == (201, 1000)


def test_the_exact_division_has_sales_vat_codes_for_each_demo_rate(demo):
    sales = [v["Percentage"] for v in EXACT_DEMO_DIVISION["vat_codes"] if v["VATTransactionType"] == "S"]
    assert sorted(sales) == [0.0, 0.09, 0.21]


def test_the_exact_division_has_a_cost_unit_per_course_and_a_gl_account_demanding_a_cost_center(demo):
    course_codes = {course["code"] for course in demo[0].tables["courses"].values()}
    assert {unit["Code"] for unit in EXACT_DEMO_DIVISION["cost_units"]} == course_codes
    assert any(gl["UseCostcenter"] == 1 for gl in EXACT_DEMO_DIVISION["gl_accounts"])
