"""The Security page in a real browser: sign out, the list of sign-ins with "Sign out everywhere", replacing the
sync's Eduframe credentials, rotating the webhook secret (and a real delivery to the new address)."""

from __future__ import annotations

import pytest

from plugin.models import Installation
from sandbox.eduframe.auth import ALL_SCOPES
from sync.models import WebhookEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(eduframe_sandbox, live_server, settings):
    settings.EDUFRAME_CLIENT_ID = None
    settings.EXACT_BASE_URL = None  # no Exact here: the sign-in stops at our own Connect page (the region)
    settings.PUBLIC_URL = live_server.url
    return eduframe_sandbox


def _new_page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB")
    context.set_default_timeout(15_000)
    return context.new_page()


def _sign_in(page, live_server, token: str = "demo-token") -> None:
    page.goto(f"{live_server.url}/install/?educator=demo-academy")
    page.get_by_label("Eduframe API token").fill(token)
    page.get_by_role("button", name="Check token and install").click()
    page.wait_for_url("**/settings/exact/connect")


def test_sign_out_from_the_top_bar(page, world, live_server):
    from playwright.sync_api import expect

    _sign_in(page, live_server)
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    page.goto(f"{live_server.url}/settings/")
    expect(page.get_by_role("heading", name="Open EduExact from Eduframe")).to_be_visible()


def test_the_sign_ins_are_listed_and_sign_out_everywhere_ends_them(page, world, live_server, chromium, screenshot):
    from playwright.sync_api import expect

    _sign_in(page, live_server)
    other = _new_page(chromium)
    try:
        _sign_in(other, live_server)
        page.get_by_role("link", name="Security").click()
        rows = page.locator("#sessions tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#sessions").get_by_text("(this browser)")).to_have_count(1)
        screenshot("security")
        page.get_by_role("button", name="Sign out everywhere").click()
        expect(
            page.get_by_text("Every browser is signed out of this EduExact installation (2 sign-ins ended).")
        ).to_be_visible()
        other.goto(f"{live_server.url}/settings/")
        expect(other.get_by_role("heading", name="Open EduExact from Eduframe")).to_be_visible()
    finally:
        other.context.close()


def test_replacing_the_syncs_eduframe_credentials(page, world, live_server):
    from playwright.sync_api import expect

    world.state.add_token("second-token", ALL_SCOPES)
    _sign_in(page, live_server)
    page.goto(f"{live_server.url}/settings/security/")
    section = page.locator("#eduframe-credentials")
    section.get_by_label("Eduframe API token").fill("not-a-token")
    section.get_by_role("button", name="Replace the sync's Eduframe credentials").click()
    expect(page.get_by_text("Eduframe refused this token")).to_be_visible()
    assert Installation.objects.get().eduframe_access_token == "demo-token"

    page.locator("#eduframe-credentials").get_by_label("Eduframe API token").fill("second-token")
    page.get_by_role("button", name="Replace the sync's Eduframe credentials").click()
    expect(page.get_by_text("The sync now runs on the new Eduframe API token.")).to_be_visible()
    assert Installation.objects.get().eduframe_access_token == "second-token"
    page.get_by_role("link", name="Audit log", exact=True).click()
    expect(page.get_by_role("cell", name="Eduframe credentials replaced")).to_be_visible()


def test_rotating_the_webhook_secret_and_receiving_on_the_new_address(page, world, live_server):
    from playwright.sync_api import expect

    _sign_in(page, live_server)
    old_secret = Installation.objects.get().webhook_secret
    page.goto(f"{live_server.url}/settings/security/")
    page.get_by_role("button", name="Rotate the webhook secret").click()
    expect(page.get_by_text("The webhook has a new secret")).to_be_visible()
    installation = Installation.objects.get()
    assert installation.webhook_secret != old_secret
    state = world.state
    [hook] = state.webhooks.values()
    assert installation.webhook_secret in hook["url"]
    invoice = state.add_invoice(
        state.add_account("Delta")["id"], [{"name": "Course", "units": 1, "unit_price": "1.00"}]
    )
    assert state.wait_for_deliveries(timeout=10)
    assert [n["status"] for n in state.webhook_notifications(hook["id"])] == ["succeeded"]
    assert WebhookEvent.objects.filter(entity_id=invoice["id"], event="invoice.created").count() == 1
