"""A newcomer's whole path in a real browser, against both simulators: install, connect Exact Online,
choose the division, fill the settings, override an edition, see an invoice booked, break a setting,
read the reason in the sync log, fix it, see the invoice booked.

The booking runs in-process (`invoice_sync`), as a worker would run it; a real worker is tested elsewhere.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from sandbox.demo_data import EXACT_DEMO_DIVISION, seed_courses, seed_settings
from sync.models import InvoiceRecord
from sync.services.invoice_sync import invoice_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings, live_server, exact_sandbox, eduframe_sandbox):
    settings.PUBLIC_URL = live_server.url
    exact_sandbox.state.register_redirect_uri(f"{live_server.url}/exact/callback")  # registered exactly
    settings.EDUFRAME_CLIENT_ID = None
    exact_sandbox.state.seed_division(**EXACT_DEMO_DIVISION)
    state = eduframe_sandbox.state
    with state.webhooks_suppressed():
        vats = seed_settings(state)
        editions = seed_courses(state, random.Random(7), date.today().year)
    return {"url": live_server.url, "eduframe": state, "vats": vats, "editions": editions}


def open_invoice(world, course_name: str) -> int:
    """Open an invoice in the Eduframe simulator for the first edition of `course_name`; return its id."""
    state = world["eduframe"]
    courses = state.tables["courses"]
    edition, variant, vat_kind = next(e for e in world["editions"] if courses[e[0]["course_id"]]["name"] == course_name)
    account = state.add_account(
        "Noord Consultancy",
        email="finance@noord.example",
        address={"address": "Stationsplein 1", "postal_code": "3511 ED", "city": "Utrecht", "country": "NL"},
    )
    line = {"name": variant["name"], "units": 1, "unit_price": variant["cost"]}
    line.update(invoice_vat_id=world["vats"][vat_kind]["id"], catalog_variant_id=variant["id"])
    with state.webhooks_suppressed():
        return state.add_invoice(account["id"], [line], status="open")["id"]


def book(eduframe_invoice_id: int) -> InvoiceRecord:
    """What the worker does for an enqueued invoice: book it now."""
    from plugin.models import Installation
    from sync.services.invoice_queue import invoice_enqueue

    installation = Installation.objects.get(educator_slug="demo-academy")
    record = invoice_enqueue(installation=installation, eduframe_invoice_id=eduframe_invoice_id, trigger="webhook")
    invoice_sync(record_id=record.pk, trigger="webhook")
    record.refresh_from_db()
    return record


def install_and_connect(page, url: str) -> None:
    page.goto(f"{url}/install/?educator=demo-academy")
    page.get_by_label("Eduframe API token").fill("demo-token")
    page.get_by_role("button", name="Check token and install").click()
    # Forwarded straight to Exact Online, as Eduframe's article says.
    expect(page.get_by_text("wants access to your Exact Online data")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Choose the division")).to_be_visible()
    page.get_by_label("Division").select_option(str(EXACT_DEMO_DIVISION["code"]))
    page.get_by_role("button", name="Use this division").click()
    expect(page.get_by_text("Division saved.")).to_be_visible()


def fill_settings(page) -> None:
    page.get_by_label("Sync from", exact=True).fill((date.today() - timedelta(days=7)).isoformat())
    page.get_by_label("Ledger code", exact=True).fill("8000")
    page.get_by_label("Journal code", exact=True).fill("70")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()


def open_course(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
    page.get_by_label("Search courses").fill(name.split()[0])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def save_codes(page, **codes) -> None:
    for label, value in codes.items():
        page.get_by_label(label.replace("_", " ").capitalize(), exact=True).fill(value)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved the Exact Online codes of")).to_be_visible()


def open_log_entry(page, url: str, number: str) -> None:
    page.goto(f"{url}/settings/log/")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()


def test_a_newcomer_books_an_invoice_breaks_a_setting_and_fixes_it(page, world, screenshot):
    url = world["url"]
    install_and_connect(page, url)
    fill_settings(page)
    expect(page.get_by_text("Demo Accountant")).to_be_visible()

    # An edition of "Python for Data Analysis" gets its own cost center.
    open_course(page, "Python for Data Analysis")
    screenshot("course")
    page.locator("a[href^='/settings/editions/']").first.click()
    save_codes(page, cost_center="CC200")
    expect(page.locator(".codes")).to_contain_text("CC200")
    screenshot("edition")

    record = book(open_invoice(world, "Python for Data Analysis"))
    assert record.state == "booked", record.reason
    open_log_entry(page, url, record.number)
    expect(page.locator(".badge-booked").first).to_be_visible()
    expect(page.locator("table.decisions")).to_contain_text("edition")
    page.get_by_text("What was sent").click()
    expect(page.locator("pre").first).to_contain_text('"CostCenter": "CC200"')
    screenshot("invoice-detail")

    # A realistic break: ledger 8100 exists and is revenue (the form accepts it), but Exact demands a cost center.
    open_course(page, "Agile Scrum Master")
    save_codes(page, ledger_code="8100")
    failing = book(open_invoice(world, "Agile Scrum Master"))
    assert failing.state == "needs_attention"
    print("Reason of the break:", failing.reason, "| Fix:", failing.fix_hint)
    page.goto(f"{url}/settings/log/?state=needs_attention")
    row = page.locator("tr", has_text=failing.number)
    expect(row).to_contain_text("Needs attention")
    expect(row.locator(".reason")).not_to_be_empty()
    screenshot("log")

    # The fix: a cost center on the course template; then retry from the log.
    open_course(page, "Agile Scrum Master")
    save_codes(page, cost_center="CC100")
    page.goto(f"{url}/settings/log/")
    page.locator("tr", has_text=failing.number).get_by_role("button", name="Retry").click()
    expect(page.get_by_text(f"Invoice {failing.number} will be tried again.")).to_be_visible()
    invoice_sync(record_id=failing.pk, trigger="manual")
    page.reload()
    expect(page.locator("tr", has_text=failing.number)).to_contain_text("Booked")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
    expect(page.get_by_role("link", name="Agile Scrum Master")).to_be_visible()
    screenshot("courses")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    screenshot("settings")


def test_an_earlier_sync_from_shows_what_it_adds_before_saving_and_takes_effect_at_once(page, world):
    """As the Eduframe article has it: a few days first, then Sync from further back; the cost is shown first."""
    from datetime import datetime

    from plugin.models import GlobalSettings

    url = world["url"]
    state = world["eduframe"]
    month_ago = date.today() - timedelta(days=30)
    with state.clock.frozen_at(
        datetime.combine(month_ago, datetime.min.time()).replace(hour=10, tzinfo=state.clock.tz)
    ):
        for name in ("Delta Opleidingen", "Polder Academie"):
            account = state.add_account(name)
            line = {"name": "Course", "units": 1, "unit_price": "100.00", "invoice_vat_id": world["vats"]["high"]["id"]}
            with state.webhooks_suppressed():
                state.add_invoice(account["id"], [line], status="open")
    install_and_connect(page, url)
    fill_settings(page)

    earlier = date.today() - timedelta(days=60)
    estimate = page.locator("#sync-from-estimate")
    expect(estimate).to_be_hidden()
    page.get_by_label("Sync from", exact=True).fill(earlier.isoformat())
    page.get_by_label("Sync from", exact=True).dispatch_event("change")
    expect(estimate).to_contain_text(f"Saving moves Sync from back to {earlier:%-d %b %Y}: 2 more invoices to book")
    expect(estimate).to_contain_text("Exact Online calls")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text(f"Sync from moved back to {earlier:%-d %b %Y}: 2 more invoices to book")).to_be_visible()
    installation = GlobalSettings.objects.get(installation__educator_slug="demo-academy")
    assert installation.sync_from == earlier
