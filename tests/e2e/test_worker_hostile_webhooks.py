"""End to end under abuse: a burst of malformed and made-up webhooks beside a genuine one, a real worker.

Nothing answers 500, the made-up invoice ids cost one Eduframe lookup each and leave no record, and the
genuine invoice is booked once.
"""

from __future__ import annotations

import json

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from plugin.services.install import webhook_ensure
from sync.models import InvoiceRecord, WebhookEvent

from .conftest import connected_installation, wait_for

DIVISION = 1234567
MADE_UP = list(range(880_001, 880_021))
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def installation(exact_sandbox, eduframe_sandbox, live_server, settings):
    installation = connected_installation(exact_sandbox, slug="demo-academy", division=DIVISION)
    settings.PUBLIC_URL = live_server.url
    webhook_ensure(installation=installation)
    return installation


def _hostile_bodies() -> list[str]:
    ours = {"educator": "demo-academy", "entity_type": "Invoice"}
    bodies = [
        "{not json",
        "[" * 20_000 + "]" * 20_000,
        json.dumps({**ours, "event": "invoice.created", "entity_id": 2**63}),
    ]
    bodies += [json.dumps({**ours, "event": "invoice.created", "entity_id": n}) for n in MADE_UP]
    return bodies


def test_made_up_and_malformed_webhooks_cost_no_records_and_the_genuine_invoice_is_booked(
    celery_worker, installation, exact_sandbox, eduframe_sandbox, live_server
):
    state = eduframe_sandbox.state
    url = live_server.url + reverse("eduframe-webhook", args=[installation.pk, installation.webhook_secret])
    answers = [httpx.post(url, content=body, timeout=10).status_code for body in _hostile_bodies()]
    assert answers == [400, 400, 400] + [202] * len(MADE_UP)

    vat = state.add_vat("21% BTW", "21")
    account = state.add_account("Noord Consultancy B.V.", email="finance@noord.example")
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}
    invoice = state.add_invoice(account["id"], [item], status="open")

    wait_for(
        lambda: InvoiceRecord.objects.filter(eduframe_invoice_id=invoice["id"], state="booked").exists(),
        what="the genuine invoice to be booked",
    )
    made_up = WebhookEvent.objects.filter(entity_id__in=MADE_UP)
    wait_for(lambda: made_up.filter(processed_at__isnull=False).count() == len(MADE_UP), what="the made-up events")
    assert all("Eduframe has no invoice" in error for error in made_up.values_list("error", flat=True))
    assert list(InvoiceRecord.objects.values_list("eduframe_invoice_id", flat=True)) == [invoice["id"]]
    lookups = [r["path"] for r in state.request_log if r["path"].startswith("/invoices/88")]
    assert sorted(lookups) == sorted(f"/invoices/{n}" for n in MADE_UP)  # one lookup each
    assert len([e for e in exact_sandbox.state.snapshot()["divisions"][str(DIVISION)]["entries"]]) == 1


def test_while_eduframe_is_down_webhooks_are_stored_and_the_invoice_is_booked_once_it_is_back(
    celery_worker, installation, exact_sandbox, eduframe_sandbox
):
    from sync.services.invoice_dispatch import invoices_dispatch

    state = eduframe_sandbox.state
    vat = state.add_vat("21% BTW", "21")
    account = state.add_account("Zuid Training B.V.", email="finance@zuid.example")
    item = {"name": "Agile Basis", "units": 2, "unit_price": "250.00", "invoice_vat_id": vat["id"]}
    state.inject_fault("*", "503", count=10_000)  # every API call fails; webhooks are still delivered
    invoice = state.add_invoice(account["id"], [item], status="open")
    assert state.wait_for_deliveries(timeout=10)
    events = WebhookEvent.objects.filter(entity_id=invoice["id"])
    assert set(events.values_list("event", flat=True)) == {"invoice.created", "invoice.updated"}
    # The lookup could not answer, so the invoice is queued all the same and waits for a retry.
    record = wait_for(
        lambda: InvoiceRecord.objects.filter(eduframe_invoice_id=invoice["id"], error_kind="retryable").first(),
        what="the sync to meet Eduframe's 503 and plan a retry",
    )
    assert record.state == "pending"

    state.clear_faults()
    # The retry's time has come; then what beat's dispatcher run does every 2 s sends it to the worker.
    InvoiceRecord.objects.filter(pk=record.pk).update(next_retry_at=timezone.now(), due_at=timezone.now())
    invoices_dispatch()
    wait_for(
        lambda: InvoiceRecord.objects.filter(pk=record.pk, state="booked").exists(),
        what="the invoice to be booked once Eduframe is back",
    )
    entries = exact_sandbox.state.snapshot()["divisions"][str(DIVISION)]["entries"]
    assert [e["YourRef"] for e in entries] == [invoice["number"]]
