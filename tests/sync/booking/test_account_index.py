"""A catch-up's new customers matched from the division's account index: 4 Exact calls each, policy unchanged.

Counted from the Exact sandbox's request log over real HTTP. Lookups (journals, ledgers, VAT codes) are
warmed by a first booking and left out of the counts.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.connections.exact import exact_client_for
from sync.models import ExactAccountIndex, InvoiceRecord
from sync.services.account_index import FRESH_SECONDS, MIN_NEW_CUSTOMERS, index_find

pytestmark = pytest.mark.django_db
VAT = "NL000099998B57"
LOOKUPS = ("financial/", "vat/", "hrm/", "system/", "current/")


def _calls(world, before: int) -> list[str]:
    log = world.exact_requests()[before:]
    return [f"{r['method']} {r['endpoint']}" for r in log if not r["endpoint"].startswith(LOOKUPS)]


def _warm(world) -> None:
    """Fill the lookup cache with one booking of a customer that is then known."""
    world.sync(world.invoice([world.item()], account=world.account("Warm BV", email="warm@example.com")))


def _catch_up(world, accounts: list[dict]) -> list[dict]:
    """One pending, due invoice per account, as reconciliation leaves a catch-up."""
    invoices = [world.invoice([world.item()], account=account) for account in accounts]
    for invoice in invoices:
        record = world.record(invoice)
        record.due_at, record.priority = timezone.now(), InvoiceRecord.Priority.CATCH_UP
        record.eduframe_account_id = invoice["account_id"]  # Eduframe's listing names it
        record.save(update_fields=["due_at", "priority", "eduframe_account_id"])
    return invoices


def _new_accounts(world, count: int) -> list[dict]:
    return [world.account(f"Klant {n} BV", email=f"klant{n}@example.com") for n in range(count)]


def _stranger(world, name="Zuid Holding", **fields):
    """An account an accountant made in Exact, not EduExact."""
    client = exact_client_for(world.installation)
    return client.create_account(world.settings.division, {"Name": name, "Status": "C", **fields})


def test_a_catch_up_of_new_customers_costs_four_calls_each_and_one_index_read(world):
    _warm(world)
    invoices = _catch_up(world, _new_accounts(world, 6))
    before = len(world.exact_requests())
    for invoice in invoices:
        world.sync(invoice)
    calls = _calls(world, before)
    assert calls.count("GET sync/CRM/Accounts") == 1
    assert "GET crm/Accounts" not in calls  # no search per customer
    assert len(calls) == 6 * 4 + 1
    assert calls.count("POST crm/Accounts") == 6
    assert all(world.record(i).state == InvoiceRecord.State.BOOKED for i in invoices)


def test_the_index_is_refreshed_at_most_once_per_fresh_seconds_with_its_deletions(world):
    _warm(world)
    first = _catch_up(world, _new_accounts(world, 6))
    for invoice in first[:2]:
        world.sync(invoice)
    ExactAccountIndex.objects.update(refreshed_at=timezone.now() - timedelta(seconds=FRESH_SECONDS + 1))
    before = len(world.exact_requests())
    for invoice in first[2:]:
        world.sync(invoice)
    calls = _calls(world, before)
    assert [c for c in calls if c.startswith("GET sync/")] == ["GET sync/CRM/Accounts", "GET sync/Deleted"]
    assert len(calls) == 4 * 4 + 2


def test_an_accountants_account_with_the_same_vat_number_and_name_is_adopted_from_the_index(world):
    _warm(world)
    # Exact's `eq` ignores case: the index compares the same way.
    stranger = _stranger(world, "Noord Consultancy", VATNumber=VAT.lower(), Email="boekhouding@noord.example")
    accounts = [world.account(custom={"btw-nummer": VAT})] + _new_accounts(world, MIN_NEW_CUSTOMERS)
    invoices = _catch_up(world, accounts)
    before = len(world.exact_requests())
    world.sync(invoices[0])
    assert world.record(invoices[0]).state == InvoiceRecord.State.BOOKED
    assert world.entry(invoices[0])["Customer"] == str(stranger.id)
    calls = _calls(world, before)
    assert "GET crm/Accounts" not in calls
    assert "POST crm/Accounts" not in calls
    assert "PUT crm/Accounts" not in calls
    (row,) = [a for a in world.division()["accounts"] if a["ID"] == str(stranger.id)]
    assert row["Email"] == "boekhouding@noord.example"  # never changed


def test_our_own_ef_code_account_is_found_in_the_index_and_not_made_twice(world):
    _warm(world)
    accounts = _new_accounts(world, MIN_NEW_CUSTOMERS + 1)
    ours = _stranger(world, "Klant 0 BV", Code=f"EF{accounts[0]['id']}", Email="klant0@example.com")
    invoices = _catch_up(world, accounts)
    before = len(world.exact_requests())
    world.sync(invoices[0])
    assert world.entry(invoices[0])["Customer"] == str(ours.id)
    calls = _calls(world, before)
    assert "GET crm/Accounts" not in calls
    assert "POST crm/Accounts" not in calls
    codes = [a["Code"].strip() for a in world.division()["accounts"]]
    assert codes.count(f"EF{accounts[0]['id']}") == 1


def test_a_vat_match_with_another_name_from_the_index_still_waits_for_the_administrator(world):
    _warm(world)
    stranger = _stranger(world, "Zuid Holding", VATNumber=VAT)
    accounts = [world.account(custom={"btw-nummer": VAT})] + _new_accounts(world, MIN_NEW_CUSTOMERS)
    invoices = _catch_up(world, accounts)
    before = len(world.exact_requests())
    world.sync(invoices[0])
    record = world.record(invoices[0])
    assert record.state == InvoiceRecord.State.NEEDS_ATTENTION
    assert "Zuid Holding" in record.reason
    assert _calls(world, before) == ["GET sync/CRM/Accounts"]
    assert str(stranger.id) not in {e["Customer"] for e in world.entries()}


@pytest.mark.parametrize("status", [404, 403])
def test_a_refused_sync_endpoint_falls_back_to_the_search_and_is_not_asked_again(world, status):
    _warm(world)
    world.exact.unavailable_endpoints, world.exact.unavailable_status = ["sync/CRM/Accounts"], status
    invoices = _catch_up(world, _new_accounts(world, MIN_NEW_CUSTOMERS + 1))
    before = len(world.exact_requests())
    for invoice in invoices[:2]:
        world.sync(invoice)
    calls = _calls(world, before)
    assert calls.count("GET sync/CRM/Accounts") == 1
    assert calls.count("GET crm/Accounts") == 2
    assert all(world.record(i).state == InvoiceRecord.State.BOOKED for i in invoices[:2])
    connection = world.installation.exact_connection
    connection.refresh_from_db()
    assert connection.status == connection.Status.CONNECTED  # a refused sync endpoint is not a lost connection


def test_while_another_process_reads_the_index_a_booking_searches_instead_of_waiting(world):
    _warm(world)
    invoices = _catch_up(world, _new_accounts(world, MIN_NEW_CUSTOMERS + 1))
    index, _ = ExactAccountIndex.objects.get_or_create(
        installation=world.installation, division=world.settings.division
    )
    index.reading_until = timezone.now() + timedelta(minutes=1)  # another worker's claim
    index.save(update_fields=["reading_until"])
    before = len(world.exact_requests())
    world.sync(invoices[0])
    calls = _calls(world, before)
    assert "GET sync/CRM/Accounts" not in calls
    assert calls.count("GET crm/Accounts") == 1
    assert world.record(invoices[0]).state == InvoiceRecord.State.BOOKED
    # A dead reader's claim lapses: the next booking reads the index, and leaves no claim behind.
    ExactAccountIndex.objects.update(reading_until=timezone.now() - timedelta(seconds=1))
    before = len(world.exact_requests())
    world.sync(invoices[1])
    assert _calls(world, before).count("GET sync/CRM/Accounts") == 1
    assert ExactAccountIndex.objects.get().reading_until is None


def test_the_index_compares_as_exacts_search_does_trailing_spaces_only_case_ignored(world):
    """The index answers the search's question: for every criterion, the same accounts as `crm/Accounts?$filter`."""
    _warm(world)
    stored = ["a@trailing.example  ", "b@tab.example\t", "c@nbsp.example\xa0", " d@leading.example", "E@Case.Example"]
    for n, email in enumerate(stored):
        _stranger(world, f"Boekhouding {n}", Email=email)
    _catch_up(world, _new_accounts(world, MIN_NEW_CUSTOMERS))  # the index is read only for a catch-up
    client, division = exact_client_for(world.installation), world.settings.division
    for email in ["a@trailing.example", "b@tab.example", "c@nbsp.example", "d@leading.example", "e@case.example"]:
        searched = client.find_accounts(division, email=email)
        indexed = index_find(
            client, installation_id=world.installation.id, division=division, criteria={"email": email}
        )
        assert indexed is not None  # answered by the index, not by falling back to the search
        assert sorted(a.id for a in indexed) == sorted(a.id for a in searched), email
    assert [a.name for a in client.find_accounts(division, email="a@trailing.example")] == ["Boekhouding 0"]
    assert [a.name for a in client.find_accounts(division, email="e@case.example")] == ["Boekhouding 4"]


def test_the_new_customers_pending_are_the_distinct_unlinked_accounts_of_due_unbooked_invoices(world):
    from sync.models import AccountLink
    from sync.services.account_index import new_customers_pending

    def record(invoice_id: int, account_id: int | None, **fields) -> None:
        InvoiceRecord.objects.create(
            installation=world.installation,
            eduframe_invoice_id=invoice_id,
            eduframe_account_id=account_id,
            due_at=timezone.now(),
            **fields,
        )

    record(1, 501)
    record(2, 501)  # the same customer twice: one search saved
    record(3, 502)
    record(4, None)  # an invoice whose listing named no account: one more
    record(5, 503)  # linked to an Exact account below: known
    record(6, 504, exact_entry_id="3f2b7c1e-0000-4000-8000-000000000001")  # booked already
    record(7, 505, state=InvoiceRecord.State.BOOKED)
    InvoiceRecord.objects.create(installation=world.installation, eduframe_invoice_id=8, eduframe_account_id=506)
    AccountLink.objects.create(
        installation=world.installation,
        eduframe_account_id=503,
        exact_account_id="3f2b7c1e-0000-4000-8000-00000000000a",
    )
    AccountLink.objects.create(installation=world.installation, eduframe_account_id=502)  # no Exact account yet
    assert new_customers_pending(world.installation.pk) == 3  # 501, 502 and the unnamed one
