"""Calls per invoice at the floor, counted from the simulators' request logs (issue 8, section 2).

The account's own calls (checking or writing the customer) are counted apart: they belong to the account match.
Here: document, attachment and entry for a new invoice; one PUT for a header change; the entry read plus one
call per changed line for a line change; the PDF sent again only when what it shows changed, in two calls.
"""

from __future__ import annotations

from sync.models import SyncAttempt

ACCOUNT_ENDPOINTS = ("crm/Accounts",)


def _calls(world, before: int) -> list[str]:
    """The non-account Exact calls since `before` (a position in the request log), as 'METHOD endpoint'."""
    log = world.exact_requests()[before:]
    return [f"{r['method']} {r['endpoint']}" for r in log if not r["endpoint"].startswith(ACCOUNT_ENDPOINTS)]


def _booked(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)  # warms the lookup cache and makes the customer known
    invoice = world.invoice([world.item(), world.item(name="Boek", price="25.00")])
    before = len(world.exact_requests())
    world.sync(invoice)
    return invoice, _calls(world, before)


def test_a_new_invoice_of_a_known_customer_costs_document_attachment_and_entry(world):
    _, calls = _booked(world)
    assert calls == [
        "POST documents/Documents",
        "POST documents/DocumentAttachments",
        "POST salesentry/SalesEntries",
    ]


def test_a_header_change_is_one_put_and_the_pdf_it_changes_two_more_calls(world):
    invoice, _ = _booked(world)
    world.eduframe.edit_invoice(invoice["id"], feature="PO-2026-114")
    before = len(world.exact_requests())
    world.sync(invoice)
    assert sorted(_calls(world, before)) == [
        "DELETE documents/DocumentAttachments",
        "POST documents/DocumentAttachments",
        "PUT salesentry/SalesEntries",
    ]
    (entry,) = [e for e in world.entries() if e["YourRef"] == invoice["number"]]
    assert entry["Description"].endswith(" - PO-2026-114")
    attachments = [a for a in world.division()["attachments"] if a["Document"] == entry["Document"]]
    assert len(attachments) == 1


def test_a_change_of_one_line_reads_the_entry_once_and_writes_that_line_only(world):
    invoice, _ = _booked(world)
    items = world.eduframe.get_invoice(invoice["id"])["invoice_items"]
    world.eduframe.edit_invoice(invoice["id"], items=[items[0], {**items[1], "unit_price": "30.00"}])
    before = len(world.exact_requests())
    world.sync(invoice)
    entry_calls = [c for c in _calls(world, before) if "Attachments" not in c]
    assert entry_calls == ["GET salesentry/SalesEntries", "PUT salesentry/SalesEntryLines"]
    pdf_calls = [c for c in _calls(world, before) if "Attachments" in c]
    assert len(pdf_calls) <= 2


def test_a_repeated_webhook_for_an_unchanged_invoice_costs_one_eduframe_call_and_no_exact_call(world):
    invoice, _ = _booked(world)
    exact_before, eduframe_before = len(world.exact_requests()), len(world.eduframe.request_log)
    attempt = world.sync(invoice, trigger=SyncAttempt.Trigger.WEBHOOK)
    assert attempt.outcome == SyncAttempt.Outcome.UNCHANGED
    assert len(world.exact_requests()) == exact_before
    assert len(world.eduframe.request_log) - eduframe_before == 1


def test_a_new_booking_costs_at_most_three_eduframe_calls(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)  # reference data (VAT rates, courses) fetched once and cached
    invoice = world.invoice([world.item()])
    before = len(world.eduframe.request_log)
    world.sync(invoice)
    assert len(world.eduframe.request_log) - before <= 3


def test_a_repeated_webhook_after_a_change_that_left_the_books_alone_costs_one_eduframe_call(world):
    invoice, _ = _booked(world)
    world.eduframe.pay_invoice(invoice["id"])  # paid: nothing changes for the books
    assert world.sync(invoice, trigger=SyncAttempt.Trigger.WEBHOOK).outcome == SyncAttempt.Outcome.UNCHANGED
    eduframe_before = len(world.eduframe.request_log)
    world.sync(invoice, trigger=SyncAttempt.Trigger.WEBHOOK)
    assert len(world.eduframe.request_log) - eduframe_before == 1


def test_an_edit_within_the_same_timestamp_is_not_taken_for_a_repeated_webhook(world):
    invoice, _ = _booked(world)
    row = world.eduframe.tables["invoices"][invoice["id"]]
    stamp = row["updated_at"]
    world.eduframe.edit_invoice(invoice["id"], feature="PO-77")
    row["updated_at"] = stamp  # Eduframe's timestamp did not move (same second)
    world.sync(invoice, trigger=SyncAttempt.Trigger.WEBHOOK)
    (entry,) = [e for e in world.entries() if e["YourRef"] == invoice["number"]]
    assert entry["Description"].endswith(" - PO-77")
