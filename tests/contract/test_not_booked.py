"""What must not reach Exact: a concept invoice, an invoice dated before `Sync from`, and a webhook with a wrong
secret (contract: mapping, HTTP entry points)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.contract.conftest import (
    edition_variant,
    eduframe_invoices,
    entries_by_ref,
    exact_division,
    exact_quiet,
    log_has,
    new_invoice,
    webhooks_delivered,
)
from tests.contract.harness import http, wait_for

pytestmark = pytest.mark.contract


def test_a_concept_invoice_is_not_booked(installed, backfilled):
    service = installed.service
    entries_before = len(exact_division(service)["entries"])
    edition = service.eduframe.state()["planned_courses"][0]
    concept = new_invoice(service, variant=edition_variant(service, edition["id"]), status="concept")
    assert concept["status"] == "concept"
    webhooks_delivered(service)
    key = str(concept["id"])
    wait_for(lambda: log_has(installed, key, "skipped"), timeout=60, what="the concept invoice skipped in the log")
    exact_quiet(service, for_seconds=1.0)
    assert len(exact_division(service)["entries"]) == entries_before


def test_an_invoice_dated_before_sync_from_is_not_booked_even_when_eduframe_reports_a_change(installed, backfilled):
    service = installed.service
    old = next(
        invoice
        for invoice in eduframe_invoices(service).values()
        if invoice["status"] == "open" and date.fromisoformat(invoice["opened_at"]) < installed.sync_from
    )
    service.eduframe.control("POST", f"invoices/{old['id']}/edit", {"feature": "PO-CONTRACT-1"})
    webhooks_delivered(service)
    wait_for(lambda: log_has(installed, old["number"], "skipped"), timeout=60, what="the old invoice skipped")
    exact_quiet(service, for_seconds=1.0)
    assert old["number"] not in entries_by_ref(service)


def test_the_webhook_url_with_a_wrong_secret_answers_404(installed):
    body = {"event": "invoice.created", "entity": "Invoice", "id": 1}
    base = f"{installed.service.url}/webhooks/eduframe"
    assert http("POST", f"{base}/{installed.installation_id}/not-the-secret", body).status == 404
    assert http("POST", f"{base}/{installed.installation_id + 1000}/{installed.webhook_secret}", body).status == 404
