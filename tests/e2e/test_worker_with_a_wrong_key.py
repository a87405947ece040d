"""A worker started with a wrong TOKEN_ENCRYPTION_KEY: the invoices wait with "Reconnect needed" in plain words,
the administrators are alerted at once, and a worker started with the key back books them, nobody retrying."""

from __future__ import annotations

import pytest
from django.conf import settings

from monitoring.models import AlertIncident, AlertSettings
from monitoring.services.incidents import alert_incidents_check
from sync.models import InvoiceRecord

from .conftest import wait_for
from .test_worker_books_invoices import installation  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
WRONG_KEY = "a passphrase that never encrypted these tokens"


def _incident(installation):  # noqa: F811
    return AlertIncident.objects.filter(installation=installation, kind="tokens_unreadable").first()


def test_invoices_wait_with_reconnect_needed_are_alerted_and_booked_once_the_key_is_back(
    celery_workers,
    installation,  # noqa: F811
    eduframe_sandbox,
    exact_sandbox,
):
    AlertSettings.objects.create(installation=installation, emails="finance@demo.example")
    state = eduframe_sandbox.state
    vat = state.add_vat("21% BTW", "21")
    account = state.add_account("Noord Consultancy B.V.", email="finance@noord.example")
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}

    wrong = celery_workers(TOKEN_ENCRYPTION_KEY=WRONG_KEY)
    invoice = state.add_invoice(account["id"], [item], status="open")
    record = wait_for(
        lambda: InvoiceRecord.objects.filter(
            installation=installation, eduframe_invoice_id=invoice["id"], reason__startswith="Reconnect needed:"
        ).first(),
        what="the invoice to wait with 'Reconnect needed'",
    )
    assert record.state == InvoiceRecord.State.PENDING
    assert "cannot be decrypted with the configured encryption key" in record.reason
    assert "TOKEN_ENCRYPTION_KEY" in record.fix_hint
    assert record.retry_count == 0
    incident = wait_for(
        lambda: (i := _incident(installation)) and i.notified_at and i, what="the alert about the unreadable tokens"
    )
    assert incident.resolved_at is None
    wait_for(lambda: "The stored credentials cannot be decrypted" in wrong.log(), what="the alert mail")
    assert not exact_sandbox.state.snapshot()["divisions"][str(1234567)]["entries"]
    wrong.stop()

    # The key is back (behind a new first key, as in a rotation): no retry, no beat, only the restarted worker.
    celery_workers(TOKEN_ENCRYPTION_KEY=f"{WRONG_KEY},{settings.TOKEN_ENCRYPTION_KEY}")
    wait_for(
        lambda: InvoiceRecord.objects.get(pk=record.pk).state == InvoiceRecord.State.BOOKED,
        what="the restarted worker to book the waiting invoice",
    )
    entries = exact_sandbox.state.snapshot()["divisions"][str(1234567)]["entries"]
    assert [e["YourRef"] for e in entries] == [invoice["number"]]
    alert_incidents_check(installation=installation)  # beat's periodic check
    assert _incident(installation).resolved_at is not None
