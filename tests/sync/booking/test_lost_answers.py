"""Exact commits a create but the answer is lost: a retry must not make a second account, document or entry."""

from __future__ import annotations

import pytest

from sync.connections.exact import exact_client_for
from sync.models import AccountLink, InvoiceRecord, SyncAttempt

pytestmark = pytest.mark.django_db


def _sync_until_settled(world, invoice, attempts=3) -> InvoiceRecord:
    record = world.record(invoice)
    for _ in range(attempts):
        world.sync(invoice)
        record.refresh_from_db()
        if record.state != InvoiceRecord.State.PENDING:
            break
    return record


@pytest.mark.parametrize(
    "endpoint",
    ["crm/Accounts", "documents/Documents", "documents/DocumentAttachments", "salesentry/SalesEntries"],
)
def test_a_lost_create_answer_makes_no_duplicate(world, endpoint):
    world.exact.inject_fault(f"POST {endpoint}", "commit_then_drop")
    invoice = world.invoice([world.item()])
    record = _sync_until_settled(world, invoice)
    division = world.division()
    assert record.state == InvoiceRecord.State.BOOKED
    assert len(division["accounts"]) == 1
    assert len(division["documents"]) == 1
    assert len(division["attachments"]) == 1
    assert len(division["entries"]) == 1
    assert any(r.get("status") == "dropped" for r in world.exact.request_log)


def test_a_lost_entry_answer_seen_only_on_the_next_attempt_is_adopted_by_your_ref(world, monkeypatch):
    # The first attempt dies after Exact committed the entry (a crash, not a clean error): the next one adopts it.
    world.exact.inject_fault("POST salesentry/SalesEntries", "commit_then_drop")
    monkeypatch.setattr("sync.services.entry_write.live_entry_by_ref", lambda *args, **kwargs: None)
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    assert world.record(invoice).state == InvoiceRecord.State.PENDING
    monkeypatch.undo()
    record = _sync_until_settled(world, invoice)
    assert record.state == InvoiceRecord.State.BOOKED
    assert len(world.entries()) == 1
    assert str(record.exact_entry_id) == world.entries()[0]["EntryID"]


def test_an_account_merged_away_in_exact_is_found_again_without_a_duplicate(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    client = exact_client_for(world.installation)
    survivor = client.create_account(
        world.settings.division, {"Name": "Noord Consultancy", "Email": "finance@noord.example", "Status": "C"}
    )
    merged_id = str(AccountLink.objects.get(eduframe_account_id=account["id"]).exact_account_id)
    world.exact.merge_accounts(world.settings.division, str(survivor.id), merged_id)
    second = world.invoice([world.item()], account=account)
    world.sync(second)
    assert len(world.division()["accounts"]) == 1
    assert world.entry(second)["Customer"] == str(survivor.id)
    assert AccountLink.objects.get(eduframe_account_id=account["id"]).exact_account_id == survivor.id


def test_an_entry_committed_behind_a_500_is_adopted_on_the_retry_not_posted_again(world):
    world.exact.inject_fault("POST salesentry/SalesEntries", "commit_then_500")
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    world.sync(invoice, trigger=SyncAttempt.Trigger.MANUAL)
    record = world.record(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    assert len(world.entries()) == 1
    assert str(record.exact_entry_id) == world.entries()[0]["EntryID"]


def _crash_after_the_entry_was_committed(world, monkeypatch, invoice, posts: int = 1) -> None:
    """The attempt dies once Exact committed the entry (its answer lost, nothing recorded on our side)."""
    world.exact.inject_fault("POST salesentry/SalesEntries", "commit_then_drop", posts)
    monkeypatch.setattr("sync.services.entry_write.live_entry_by_ref", lambda *args, **kwargs: None)
    world.sync(invoice)
    assert world.record(invoice).exact_entry_id is None
    monkeypatch.undo()


def test_an_entry_the_accountant_processed_meanwhile_is_adopted_not_booked_twice(world, monkeypatch):
    invoice = world.invoice([world.item()])
    _crash_after_the_entry_was_committed(world, monkeypatch, invoice)
    (entry,) = world.entries()
    world.exact.process_entry(world.settings.division, entry["EntryID"])
    record = _sync_until_settled(world, invoice)
    assert record.state == InvoiceRecord.State.BOOKED
    assert [e["EntryID"] for e in world.entries()] == [entry["EntryID"]]  # no second entry, no reversal
    assert str(record.exact_entry_id) == entry["EntryID"]
    assert "adopted" in record.attempts.first().message
    # The invoice changes later: the processed entry is then replaced as usual (reversed, booked anew).
    world.eduframe.tables["invoices"][invoice["id"]]["description"] = "Changed"
    world.sync(invoice)
    refs = sorted(e["YourRef"] for e in world.entries())
    assert refs == sorted([invoice["number"], invoice["number"], f"{invoice['number']}-R"])


def test_a_processed_entry_that_a_reversal_cancelled_is_not_adopted(world, monkeypatch):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    (entry,) = world.entries()
    world.exact.process_entry(world.settings.division, entry["EntryID"])
    world.eduframe.tables["invoices"][invoice["id"]]["description"] = "Changed"
    # The replacement reverses the processed entry, then dies once its new entry was committed (both answers lost).
    _crash_after_the_entry_was_committed(world, monkeypatch, invoice, posts=2)
    assert len(world.entries()) == 3
    record = _sync_until_settled(world, invoice)
    assert record.state == InvoiceRecord.State.BOOKED
    assert len(world.entries()) == 3  # the new entry was adopted, the reversed one left alone
    live = [e for e in world.entries() if e["Status"] != 50 and not e["YourRef"].endswith("-R")]
    assert str(record.exact_entry_id) == live[0]["EntryID"]
