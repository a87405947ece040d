"""The administrator answers "which Exact account?" on the invoice's page, in a real Chromium."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore

from sync.connections.exact import exact_client_for
from sync.models import AccountLink, InvoiceRecord
from sync.services.invoice_sync import invoice_sync
from tests.sync.booking.conftest import world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(page, live_server, installation) -> None:
    session = SessionStore()
    session["installation_id"] = installation.pk
    session.create()
    cookie = {"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}
    page.context.add_cookies([cookie])


def test_the_administrator_links_the_candidate_and_the_invoice_is_booked_on_it(
    page, live_server, exact_sandbox, eduframe_sandbox
):
    world = world_build(exact_sandbox, eduframe_sandbox)
    client = exact_client_for(world.installation)
    stranger = client.create_account(
        world.settings.division, {"Name": "Zuid Holding", "Email": "finance@noord.example", "Status": "C"}
    )
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = world.record(invoice)
    _signed_in(page, live_server, world.installation)

    page.goto(f"{live_server.url}/settings/log/{record.pk}/")
    panel = page.locator("#account-choice")
    assert panel.locator(".candidate-name").inner_text() == "Zuid Holding"
    panel.get_by_role("button", name="Link to this account").click()
    page.wait_for_url(f"{live_server.url}/settings/log/{record.pk}/")
    assert "Linked to the existing Exact account" in page.content()
    assert page.locator("#account-choice").count() == 0

    invoice_sync(record_id=record.pk, trigger="manual")  # what the queued task does
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    assert world.entry(invoice)["Customer"] == str(stranger.id)
    assert AccountLink.objects.get(eduframe_account_id=record.eduframe_account_id).origin == "admin"
    page.reload()
    assert "Entry" in page.locator("dl.health").inner_text()
