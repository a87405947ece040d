"""The fault matrix for the account calls of a booking (issue 9, section 7): every fault Exact can throw at
the account search, create or update still ends in one booking per invoice and one Exact account per
Eduframe account, without a single functional error answer (those count toward Exact's hourly block).

Runs on SQLite by default and on PostgreSQL with DATABASE_URL set; the whole path talks to the simulator
over HTTP. The worker-killed case is tests/e2e/test_worker_killed_mid_booking.py.
"""

from __future__ import annotations

import pytest

from sync.connections.exact import exact_client_for
from sync.models import AccountLink, InvoiceRecord

pytestmark = pytest.mark.django_db
# A bare 429 is left to the scheduling tests: today the client waits out the minute (up to 60 s) in process.
KINDS = ["500", "503", "drop", "commit_then_drop", "commit_then_500"]
TRANSIENT = {"500", "503", "429", "dropped"}


def _settle(world, invoice, tries: int = 4) -> InvoiceRecord:
    """Sync as the retries would (their backoff skipped) until the invoice leaves 'pending'."""
    record = world.record(invoice)
    for _ in range(tries):
        world.sync(invoice)
        record.refresh_from_db()
        if record.state != InvoiceRecord.State.PENDING:
            break
    return record


def _assert_booked_once_each(world, invoices, accounts: int) -> None:
    division = world.division()
    for invoice in invoices:
        record = world.record(invoice)
        record.refresh_from_db()
        assert record.state == InvoiceRecord.State.BOOKED, record.reason
    assert sorted(e["YourRef"] for e in division["entries"]) == sorted(i["number"] for i in invoices)
    assert len(division["documents"]) == len(invoices)
    assert len(division["attachments"]) == len(invoices)
    assert len(division["accounts"]) == accounts


def _functional_errors(world) -> list[dict]:
    return [r for r in world.exact_requests() if str(r["status"]) not in TRANSIENT and int(r["status"]) >= 400]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", ["GET crm/Accounts", "POST crm/Accounts"])
def test_a_fault_on_the_new_customers_account_calls_still_books_once_with_one_account(world, call, kind):
    world.exact.inject_fault(call, kind)
    account = world.account()
    invoices = [world.invoice([world.item()], account=account) for _ in range(2)]
    for invoice in invoices:
        _settle(world, invoice)
    _assert_booked_once_each(world, invoices, accounts=1)
    assert _functional_errors(world) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_fault_on_the_account_update_still_books_once_and_the_change_lands(world, kind):
    account = world.account()
    first = world.invoice([world.item()], account=account)
    world.sync(first)
    world.eduframe.rename_account(account["id"], "Noord Consultancy Groep B.V.")
    world.exact.inject_fault("PUT crm/Accounts", kind)
    second = world.invoice([world.item()], account=account)
    _settle(world, second)
    _assert_booked_once_each(world, [first, second], accounts=1)
    (exact_account,) = world.division()["accounts"]
    assert exact_account["Name"] == "Noord Consultancy Groep B.V."
    assert _functional_errors(world) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_fault_on_the_re_match_after_a_merge_still_finds_the_survivor_once(world, kind):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    survivor = exact_client_for(world.installation).create_account(
        world.settings.division, {"Name": "Noord Consultancy", "Email": "finance@noord.example", "Status": "C"}
    )
    merged = str(AccountLink.objects.get(eduframe_account_id=account["id"]).exact_account_id)
    world.exact.merge_accounts(world.settings.division, str(survivor.id), merged)
    world.exact.inject_fault("GET crm/Accounts", kind)  # the re-match's search fails once
    second = world.invoice([world.item()], account=account)
    record = _settle(world, second)
    assert record.state == InvoiceRecord.State.BOOKED, record.reason
    assert world.entry(second)["Customer"] == str(survivor.id)
    assert len(world.division()["accounts"]) == 1
