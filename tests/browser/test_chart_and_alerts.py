"""The sync log's 30-day chart and the `Alert e-mail` setting, in a real Chromium."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import AlertSettings
from plugin.models import Installation
from sync.models import ExactCallDay, SyncAttempt
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_newcomer_path import book, install_and_connect, open_invoice, world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COURSE = "Projectmanagement Basis"


def fill_settings_with_alerts(page, alert_email: str) -> None:
    page.get_by_label("Sync from", exact=True).fill((timezone.localdate() - timedelta(days=40)).isoformat())
    page.get_by_label("Ledger code", exact=True).fill("8000")
    page.get_by_label("Journal code", exact=True).fill("70")
    page.get_by_label("Alert e-mail", exact=True).fill(alert_email)
    page.get_by_role("button", name="Save settings").click()


def unmapped_vat_invoice(world) -> int:  # noqa: F811
    """An invoice whose VAT rate (7%) has no Exact VAT code: it needs attention."""
    state = world["eduframe"]
    vat = state.add_vat("7% BTW", "7")
    account = state.add_account("Zuid Opleidingen", email="admin@zuid.example")
    with state.webhooks_suppressed():
        line = {"name": "Workshop", "units": 1, "unit_price": "80.00", "invoice_vat_id": vat["id"]}
        return state.add_invoice(account["id"], [line], status="open")["id"]


def spread_over_the_last_days(installation: Installation) -> None:
    """Move the attempts just made back over the past days (one a day), with Exact calls counted on those days:
    the chart is about a month, the test runs in seconds."""
    today = timezone.localdate()
    attempts = list(SyncAttempt.objects.filter(invoice__installation=installation).order_by("pk"))
    for age, attempt in enumerate(reversed(attempts)):
        moment = timezone.now() - timedelta(days=age * 2)
        SyncAttempt.objects.filter(pk=attempt.pk).update(started_at=moment, finished_at=moment)
    division = installation.settings.division
    for age in range(1, 28, 3):
        ExactCallDay.objects.create(
            installation=installation,
            division=division,
            day=today - timedelta(days=age),
            calls=40 * age,
            daily_limit=5000,
        )


def test_the_alert_setting_checks_each_address_and_the_log_shows_the_last_30_days(page, world):  # noqa: F811
    url = world["url"]
    install_and_connect(page, url)

    # A bad address is named, and nothing is lost: the field keeps what was typed.
    fill_settings_with_alerts(page, "finance@demo.example, it-at-demo")
    expect(page.get_by_text("Not a valid e-mail address: 'it-at-demo'.")).to_be_visible()
    expect(page.get_by_label("Alert e-mail", exact=True)).to_have_value("finance@demo.example, it-at-demo")
    fill_settings_with_alerts(page, "finance@demo.example, it@demo.example")
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_text("Alert e-mail saved.")).to_be_visible()
    expect(page.get_by_label("Alert e-mail", exact=True)).to_have_value("finance@demo.example, it@demo.example")
    installation = Installation.objects.get(educator_slug="demo-academy")
    assert AlertSettings.objects.get(installation=installation).recipients == [
        "finance@demo.example",
        "it@demo.example",
    ]

    booked = [book(open_invoice(world, COURSE)) for _ in range(3)]
    assert {record.state for record in booked} == {"booked"}
    assert book(unmapped_vat_invoice(world)).state == "needs_attention"
    calls_today = ExactCallDay.objects.get(installation=installation, day=timezone.localdate()).calls
    assert calls_today > 0
    spread_over_the_last_days(installation)

    page.goto(f"{url}/settings/log/")
    chart = page.locator("#last-30-days")
    expect(chart.get_by_role("heading", name="Last 30 days")).to_be_visible()
    invoices = chart.locator('svg[data-chart="invoices"]')
    expect(invoices.locator("rect.bar.booked")).to_have_count(3)
    expect(invoices.locator("rect.bar.attention")).to_have_count(1)
    expect(chart.get_by_text("3 booked and 1 needing attention in 30 days", exact=True)).to_be_visible()
    today = timezone.localdate()
    assert invoices.locator("rect.bar.attention title").text_content() == f"{today:%-d %b}: 1 needing attention"

    calls = chart.locator('svg[data-chart="exact-calls"]')
    expect(calls.locator("rect.bar.calls")).to_have_count(10)  # today and nine earlier days
    expect(calls.locator("line.limit")).to_have_count(1)
    expect(calls.get_by_text("daily limit 5000", exact=True)).to_be_visible()
    titles = calls.locator("rect.bar.calls title").all_text_contents()
    assert f"{today:%-d %b}: {calls_today} of 5000 calls" in titles
    # The limit line sits above the highest bar: 1080 calls on the busiest day is about a fifth of 5000.
    limit_y = float(calls.locator("line.limit").get_attribute("y1"))
    tallest = min(
        float(y) for y in calls.locator("rect.bar.calls").evaluate_all("rs => rs.map(r => r.getAttribute('y'))")
    )
    assert limit_y < tallest

    if os.environ.get("EDUEXACT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        chart.screenshot(path=str(SCREENSHOTS / "chart.png"))
