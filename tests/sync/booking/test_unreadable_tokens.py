"""A stored Exact token no configured key opens: the invoice waits with "Reconnect needed" in plain words, the
connection is not marked (a restored key opens it again), the administrators are alerted, and the next sync
with the key back books it."""

from __future__ import annotations

import pytest
from django.core import mail

from monitoring.models import AlertIncident, AlertSettings
from monitoring.services.incidents import alert_incidents_check
from plugin.models import ExactConnection, Installation
from sync.models import InvoiceRecord

pytestmark = pytest.mark.django_db


def test_an_exact_connection_no_key_opens_waits_alerts_and_books_once_the_key_is_back(world, settings):
    stored_with = settings.TOKEN_ENCRYPTION_KEY
    settings.TOKEN_ENCRYPTION_KEY = "a new key, without the old one"
    installation = Installation.objects.get(pk=world.installation.pk)
    installation.eduframe_access_token = "demo-token"  # Eduframe's token stored anew: only Exact's is unreadable
    installation.save()
    AlertSettings.objects.create(installation=installation, emails="finance@demo.example")
    invoice = world.invoice([world.item()])

    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.PENDING
    assert record.error_kind == InvoiceRecord.ErrorKind.AUTH
    assert record.reason.startswith("Reconnect needed: the stored Exact Online connection cannot be decrypted")
    assert "reconnect Exact Online on the settings page" in record.fix_hint
    assert record.next_retry_at is not None
    assert record.retry_count == 0
    assert not any(r["method"] != "GET" for r in world.exact_requests())
    assert ExactConnection.objects.get(installation=installation).status == ExactConnection.Status.CONNECTED

    alert_incidents_check(installation=installation)
    assert [m.subject for m in mail.outbox] == [
        f"[EduExact] The stored credentials cannot be decrypted ({installation})"
    ]
    assert "Reconnect needed" in mail.outbox[0].body
    assert "1 invoice(s) wait" in mail.outbox[0].body

    settings.TOKEN_ENCRYPTION_KEY = f"a new key, without the old one,{stored_with}"
    world.sync(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    alert_incidents_check(installation=installation)
    assert AlertIncident.objects.get(kind="tokens_unreadable").resolved_at is not None
