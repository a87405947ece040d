"""End to end: Eduframe sends a real webhook, a real Celery worker books the invoice in the Exact simulator."""

from __future__ import annotations

import pytest

from plugin.services.install import webhook_ensure
from sync.models import InvoiceRecord, WebhookEvent

from .conftest import connected_installation, wait_for

DIVISION = 1234567
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def installation(exact_sandbox, eduframe_sandbox, live_server, settings):
    """An installation connected to both simulators, its webhook registered on Eduframe for the live server."""
    installation = connected_installation(exact_sandbox, slug="demo-academy", division=DIVISION)
    settings.PUBLIC_URL = live_server.url
    webhook_ensure(installation=installation)
    return installation


@pytest.fixture
def concept_invoice(eduframe_sandbox, installation):
    """A concept invoice of a Dutch business customer, 21% VAT."""
    state = eduframe_sandbox.state
    vat = state.add_vat("21% BTW", "21")
    address = {"address": "Stationsplein 1", "postal_code": "3511 ED", "city": "Utrecht", "country": "NL"}
    account = state.add_account("Noord Consultancy B.V.", email="finance@noord.example", address=address)
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}
    return state.add_invoice(account["id"], [item], status="concept")


def _record(installation, invoice) -> InvoiceRecord | None:
    return InvoiceRecord.objects.filter(installation=installation, eduframe_invoice_id=invoice["id"]).first()


def _entries(exact_sandbox) -> list[dict]:
    return exact_sandbox.state.snapshot()["divisions"][str(DIVISION)]["entries"]


def test_an_invoice_opened_in_eduframe_is_booked_in_exact_by_the_worker(
    celery_worker, installation, concept_invoice, exact_sandbox, eduframe_sandbox
):
    # The concept's invoice.created webhook: the worker looks and skips it.
    skipped = wait_for(
        lambda: (r := _record(installation, concept_invoice)) and r.state == InvoiceRecord.State.SKIPPED and r,
        what="the concept invoice to be seen and skipped",
    )
    assert "Concept" in skipped.reason

    invoice = eduframe_sandbox.state.open_invoice(concept_invoice["id"])
    assert eduframe_sandbox.state.wait_for_deliveries(timeout=10)

    record = wait_for(
        lambda: (r := _record(installation, invoice)) and r.state == InvoiceRecord.State.BOOKED and r,
        what="the worker to book the opened invoice",
    )
    entry = next(e for e in _entries(exact_sandbox) if e["EntryID"] == str(record.exact_entry_id))
    assert entry["YourRef"] == invoice["number"]
    assert record.exact_entry_number == entry["EntryNumber"]
    assert record.attempts.filter(trigger="webhook", outcome="created").exists()
    events = WebhookEvent.objects.filter(installation=installation, entity_id=invoice["id"])
    assert set(events.values_list("event", flat=True)) == {"invoice.created", "invoice.updated"}
    assert all(e.processed_at and not e.error for e in events)


def test_an_invoice_deleted_after_booking_is_removed_from_exact_by_the_worker(
    celery_worker, installation, concept_invoice, exact_sandbox, eduframe_sandbox
):
    invoice = eduframe_sandbox.state.open_invoice(concept_invoice["id"])
    record = wait_for(
        lambda: (r := _record(installation, invoice)) and r.state == InvoiceRecord.State.BOOKED and r,
        what="the worker to book the opened invoice",
    )
    eduframe_sandbox.state.delete_invoice(invoice["id"])
    wait_for(
        lambda: _record(installation, invoice).state == InvoiceRecord.State.DELETED,
        what="the worker to remove the deleted invoice's entry",
    )
    assert str(record.exact_entry_id) not in {e["EntryID"] for e in _entries(exact_sandbox)}
