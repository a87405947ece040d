"""The 'Catching up' progress bar on the settings page follows the backfill without a reload."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore

from plugin.models import GlobalSettings
from sync.models import InvoiceRecord
from tests.factories import InstallationFactory, InvoiceRecordFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(page, live_server, installation) -> None:
    """Give the browser the session the install flow would have bound to the installation."""
    session = SessionStore()
    session["installation_id"] = installation.pk
    session.create()
    cookie = {"name": django_settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}
    page.context.add_cookies([cookie])


def test_the_progress_bar_moves_as_invoices_are_booked(page, live_server):
    installation = InstallationFactory(educator_slug="demo-academy")
    GlobalSettings.objects.create(installation=installation, division=1234567, sync_from=date(2026, 1, 1))
    records = [
        InvoiceRecordFactory(installation=installation, invoice_date=date(2026, 2, 1), state="pending")
        for _ in range(2)
    ]
    _signed_in(page, live_server, installation)
    page.goto(f"{live_server.url}/settings/")
    assert page.locator("#backfill progress").get_attribute("value") == "0"
    InvoiceRecord.objects.filter(pk=records[0].pk).update(state="booked")
    page.wait_for_function("document.querySelector('#backfill progress').value === 1", timeout=12_000)
    assert page.locator("#backfill [data-done]").inner_text() == "1"
