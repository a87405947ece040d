"""A worker killed (SIGKILL) in the middle of a booking: the restarted worker books the invoice, once, at once.

Not after the claim runs out plus a reconciliation: the new worker recognises the dead process's claim when it
starts (sync/services/claim_recovery.py). The booking is cut short after Exact already holds the account and
the document, while Eduframe is slow to send the PDF.
"""

from __future__ import annotations

import time

import pytest

from sync.models import InvoiceRecord, SyncAttempt

from .conftest import beat_then, wait_for
from .test_worker_books_invoices import DIVISION, installation  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
RESTART_BOUND_SECONDS = 120


def _division(exact_sandbox) -> dict:
    return exact_sandbox.state.snapshot()["divisions"][str(DIVISION)]


@pytest.mark.parametrize("lost_answer", [None, "POST crm/Accounts", "POST documents/Documents"])
def test_a_worker_killed_mid_booking_is_replaced_and_the_invoice_booked_once_soon_after(
    celery_workers,
    installation,  # noqa: F811
    exact_sandbox,
    eduframe_sandbox,
    lost_answer,
):
    state = eduframe_sandbox.state
    vat = state.add_vat("21% BTW", "21")
    account = state.add_account("Noord Consultancy B.V.", email="finance@noord.example")
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}
    # Eduframe takes a minute to render the PDF: the worker is stuck in the middle of the booking.
    state.inject_fault("GET /invoices/*/pdf", "timeout", count=1, seconds=60)
    if lost_answer:
        # Exact commits the write but its answer is lost, earlier in the same booking.
        exact_sandbox.state.inject_fault(lost_answer, "commit_then_drop")
    first = celery_workers()
    invoice = state.add_invoice(account["id"], [item], status="open")
    # The document is made just before the PDF is fetched (and the fetch then hangs for up to 20 s).
    wait_for(lambda: _division(exact_sandbox)["documents"], interval=0.05, what="the worker to make the document")
    record = InvoiceRecord.objects.get(installation=installation, eduframe_invoice_id=invoice["id"])
    assert record.claim_token
    assert record.state == InvoiceRecord.State.PENDING
    assert not _division(exact_sandbox)["entries"]

    first.kill()
    restarted_at = time.monotonic()
    celery_workers()
    wait_for(
        # With beat's dispatcher: when the restarted worker's own PDF fetch times out, the retry is beat's to send.
        beat_then(lambda: InvoiceRecord.objects.get(pk=record.pk).state == InvoiceRecord.State.BOOKED),
        timeout=RESTART_BOUND_SECONDS,
        interval=1,
        what="the restarted worker to book the invoice",
    )
    assert time.monotonic() - restarted_at < RESTART_BOUND_SECONDS
    division = _division(exact_sandbox)
    assert [e["YourRef"] for e in division["entries"]] == [invoice["number"]]
    assert len(division["accounts"]) == 1
    assert len(division["documents"]) == 1
    assert len(division["attachments"]) == 1
    cut_short = SyncAttempt.objects.filter(invoice=record, message__contains="worker stopped")
    assert cut_short.count() == 1
