"""An invoice's life in Eduframe and what each step does in Exact."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.connections.eduframe import eduframe_client
from sync.connections.exact import exact_client_for
from sync.exact.entities import ExactAttachment
from sync.models import InvoiceRecord, SyncAttempt

pytestmark = pytest.mark.django_db
State, Outcome = InvoiceRecord.State, SyncAttempt.Outcome


def _state(world, invoice) -> InvoiceRecord:
    record = world.record(invoice)
    record.refresh_from_db()
    return record


def test_it_skips_a_concept_invoice_without_calling_exact(world):
    invoice = world.invoice([world.item()], status="concept")
    attempt = world.sync(invoice)
    record = _state(world, invoice)
    assert record.state == State.SKIPPED
    assert record.reason == "Concept invoice: booked once it is opened."
    assert attempt.exact_calls == 0
    assert world.exact_requests() == []


def test_it_books_an_invoice_once_it_is_opened(world):
    invoice = world.invoice([world.item()], status="concept")
    world.sync(invoice)
    world.eduframe.open_invoice(invoice["id"])
    attempt = world.sync(invoice)
    record = _state(world, invoice)
    assert attempt.outcome == Outcome.CREATED
    assert record.state == State.BOOKED
    assert record.exact_entry_number == world.entry(invoice)["EntryNumber"]
    assert len(world.entries()) == 1


def test_it_updates_an_edited_invoice_in_place(world):
    invoice = world.invoice([world.item("Cursus", "100.00")])
    world.sync(invoice)
    entry_id = _state(world, invoice).exact_entry_id
    item_id = world.eduframe.get_invoice(invoice["id"])["invoice_items"][0]["id"]
    world.eduframe.edit_invoice(
        invoice["id"], items=[{**world.item("Cursus", "150.00"), "id": item_id}, world.item("Boek", "20.00")]
    )
    attempt = world.sync(invoice)
    record = _state(world, invoice)
    entry = world.entry(invoice)
    assert attempt.outcome == Outcome.UPDATED
    assert record.exact_entry_id == entry_id
    assert [line["AmountFC"] for line in entry["SalesEntryLines"]] == [150.0, 20.0]
    assert entry["AmountFC"] == 205.7
    assert len(world.entries()) == 1


def test_it_removes_a_line_that_was_removed_from_the_invoice(world):
    invoice = world.invoice([world.item("Cursus", "100.00"), world.item("Boek", "20.00")])
    world.sync(invoice)
    first = world.eduframe.get_invoice(invoice["id"])["invoice_items"][0]
    world.eduframe.edit_invoice(invoice["id"], items=[{**world.item("Cursus", "100.00"), "id": first["id"]}])
    world.sync(invoice)
    assert [line["Description"] for line in world.entry(invoice)["SalesEntryLines"]] == ["Cursus"]


def test_a_paid_invoice_with_nothing_changed_costs_no_exact_call(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    calls_before = len(world.exact_requests())
    world.eduframe.pay_invoice(invoice["id"])
    attempt = world.sync(invoice)
    assert attempt.outcome == Outcome.UNCHANGED
    assert attempt.exact_calls == 0
    assert len(world.exact_requests()) == calls_before
    assert _state(world, invoice).state == State.BOOKED


def test_it_deletes_the_entry_of_an_invoice_deleted_in_eduframe(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    world.eduframe.delete_invoice(invoice["id"])
    attempt = world.sync(invoice)
    record = _state(world, invoice)
    assert attempt.outcome == Outcome.DELETED
    assert record.state == State.DELETED
    assert world.entries() == []


def test_it_deletes_the_entry_when_an_older_api_answers_with_status_deleted(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    with world.eduframe.lock:  # the pre-2024 API kept deleted invoices, with status "deleted"
        world.eduframe.tables["invoices"][invoice["id"]]["status"] = "deleted"
    attempt = world.sync(invoice)
    assert attempt.outcome == Outcome.DELETED
    assert world.entries() == []


def test_a_404_that_may_hide_a_lost_scope_never_deletes_the_entry(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    scopes = [s for s in world.eduframe.tokens["demo-token"]["scopes"] if s != "invoices:read"]
    world.eduframe.add_token("demo-token", scopes)
    world.eduframe.forbidden_status = 404  # Eduframe may hide what a token may not see behind a 404
    attempt = world.sync(invoice)
    record = _state(world, invoice)
    assert attempt.outcome == Outcome.FAILED
    assert record.state == State.NEEDS_ATTENTION
    assert "invoices:read" in record.reason
    assert len(world.entries()) == 1


def test_it_marks_a_never_booked_deleted_invoice_deleted_without_calling_exact(world):
    invoice = world.invoice([world.item()], status="concept")
    world.eduframe.delete_invoice(invoice["id"])
    world.sync(invoice)
    assert _state(world, invoice).state == State.DELETED
    assert world.exact_requests() == []


def test_it_reverses_a_processed_entry_when_the_invoice_is_deleted(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = _state(world, invoice)
    world.exact.process_entry(record.exact_division, str(record.exact_entry_id))
    world.eduframe.delete_invoice(invoice["id"])
    world.sync(invoice)
    entries = world.entries()
    reversal = next(e for e in entries if e["YourRef"] == f"{record.number}-R")
    assert _state(world, invoice).state == State.DELETED
    assert len(entries) == 2
    assert reversal["AmountFC"] == -121.0
    assert sum(e["AmountFC"] for e in entries) == 0


def test_it_replaces_a_processed_entry_by_a_reversal_and_a_new_entry_when_the_invoice_changes(world):
    invoice = world.invoice([world.item("Cursus", "100.00")])
    world.sync(invoice)
    record = _state(world, invoice)
    world.exact.process_entry(record.exact_division, str(record.exact_entry_id))
    item_id = world.eduframe.get_invoice(invoice["id"])["invoice_items"][0]["id"]
    world.eduframe.edit_invoice(invoice["id"], items=[{**world.item("Cursus", "200.00"), "id": item_id}])
    world.sync(invoice)
    entries = world.entries()
    assert len(entries) == 3
    assert sum(e["AmountFC"] for e in entries) == 242.0  # the old one and its reversal cancel out
    assert world.entry(invoice)["AmountFC"] == 242.0


def test_it_skips_an_invoice_dated_before_sync_from(world):
    world.settings.sync_from = world.eduframe.clock.today() + timedelta(days=1)
    world.settings.save()
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = _state(world, invoice)
    assert record.state == State.SKIPPED
    assert "before 'Sync from'" in record.reason
    assert world.exact_requests() == []


def test_a_changed_pdf_replaces_the_old_one_on_the_same_document(world):
    invoice = world.invoice([world.item("Cursus", "100.00")])
    world.sync(invoice)
    document_id = str(_state(world, invoice).exact_document_id)
    world.eduframe.edit_invoice(invoice["id"], footnote="Betaling binnen 14 dagen")
    world.sync(invoice)
    rows = [a for a in world.division()["attachments"] if a["Document"] == document_id]
    client = exact_client_for(world.installation)
    newest = client.download_attachment(ExactAttachment.from_api(rows[-1]))
    assert len(rows) == 1
    assert len(world.division()["documents"]) == 1
    assert world.entry(invoice)["Document"] == document_id
    assert newest == eduframe_client(world.installation).invoice_pdf(invoice["id"])


def test_a_new_journal_code_moves_the_entry_to_that_journal_without_a_second_live_entry(world):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    old_id = _state(world, invoice).exact_entry_id
    with world.exact.lock:  # a second sales journal, as an accountant would add it
        division = world.exact.division(world.settings.division)
        division.journals["j71"] = {**next(iter(division.journals.values())), "ID": "j71", "Code": "71"}
    world.settings.journal_code = "71"
    world.settings.save()
    world.sync(invoice)
    (entry,) = world.entries()
    assert entry["Journal"] == "71"
    assert entry["EntryID"] != str(old_id)
