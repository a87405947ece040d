"""The reconciliation report in a real browser, against both simulators: a difference found, then repaired.

The report and the booking run in-process, as the worker would run them; a real worker is tested elsewhere.
"""

from __future__ import annotations

import csv
from datetime import date, datetime

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sync.models import InvoiceRecord
from sync.reconciliation_models import ReconciliationRun
from sync.services.invoice_sync import invoice_sync
from sync.services.reconciliation import reconciliation_run_execute
from tests.browser.test_progress_bar import _signed_in
from tests.factories import GlobalSettingsFactory, InstallationFactory, sandbox_connection
from tests.sync.booking.conftest import DIVISION, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(exact_sandbox, eduframe_sandbox) -> World:
    exact_sandbox.state.seed_division(DIVISION, "Demo Academy B.V.")
    installation = InstallationFactory(educator_slug="demo-academy", eduframe_access_token="demo-token")
    sandbox_connection(installation, exact_sandbox)
    GlobalSettingsFactory(installation=installation, division=DIVISION, journal_code="70", ledger_code="8000",
                          sync_from=date(timezone.localdate().year, 1, 1))  # fmt: skip
    exact_sandbox.state.rate_limits_enabled = False  # a year of bookings in a few seconds; limits are tested elsewhere
    return World(exact_sandbox, eduframe_sandbox, installation)


def _earlier_months(world: World) -> None:
    """Some booked invoices in the months before this one, so the chart of the year has something to show."""
    today = timezone.localdate()
    for month in range(max(1, today.month - 6), today.month):
        when = datetime(today.year, month, 12, 10, tzinfo=world.eduframe.clock.tz)
        for price in ("150.00", f"{90 + 40 * month}.00"):
            with world.eduframe.clock.frozen_at(when):
                invoice = world.invoice([world.item("Cursus", price)])
            world.sync(invoice)


def _delete_in_exact(world: World, entry_id) -> None:
    """The accountant deletes the entry in Exact's own screens."""
    world.exact.register_client("exact-ui", "ui-secret", [])
    tokens = world.exact.issue_tokens_for(world.exact.default_user().user_id, client_id="exact-ui")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    url = f"{world.exact_url}/api/v1/{DIVISION}/salesentry/SalesEntries(guid'{entry_id}')"
    assert httpx.delete(url, headers=headers, timeout=10).status_code == 204


def _run_report(page) -> None:
    """Click Run, let the 'worker' make the report, and wait for the page to show it."""
    page.get_by_role("button", name="Run the report for").click()
    expect(page.locator("#reconciliation-progress progress")).to_be_visible()
    run = ReconciliationRun.objects.order_by("-pk").first()
    reconciliation_run_execute(run_id=run.pk)
    expect(page.locator("#reconciliation-totals")).to_be_visible(timeout=15_000)


def test_the_report_finds_a_deleted_entry_and_book_again_repairs_it(page, live_server, world, screenshot):
    names = ("Noord Consultancy B.V.", "Zuid Opleidingen B.V.", "Oost Advies B.V.")
    invoices = [world.invoice([world.item("Cursus", price)], account=world.account(name))
                for price, name in zip(("100.00", "250.00", "80.00"), names, strict=True)]  # fmt: skip
    for invoice in invoices:
        world.sync(invoice)
    _earlier_months(world)
    lost = world.record(invoices[1])
    lost.refresh_from_db()
    _delete_in_exact(world, lost.exact_entry_id)

    _signed_in(page, live_server, world.installation)
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Reconciliation").click()
    expect(page.locator("#estimate")).to_contain_text("call to Exact Online")
    _run_report(page)

    row = page.locator("#reconciliation-differences tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text(lost.number)
    expect(row.first).to_contain_text("booked by EduExact, entry deleted in Exact")
    expect(page.locator("#reconciliation-totals")).to_contain_text("€ 520.30")  # Eduframe incl. VAT
    expect(page.locator("#reconciliation-chart svg rect")).to_have_count(24)
    screenshot("reconciliation")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(download.value.path().read_text().splitlines()))
    assert rows[0][:2] == [lost.number, "booked by EduExact, entry deleted in Exact"]
    assert rows[-1][0] == "Exact total"

    page.get_by_role("button", name="Book again (1 invoice)").click()
    expect(page.get_by_text("1 invoice(s) will be booked again")).to_be_visible()
    invoice_sync(record_id=lost.pk, trigger="manual")  # what the worker does with the queued invoice
    lost.refresh_from_db()
    assert lost.state == InvoiceRecord.State.BOOKED
    _run_report(page)
    expect(page.get_by_text("No differences: every invoice of")).to_be_visible()
