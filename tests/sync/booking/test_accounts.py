"""The one Exact account per Eduframe account: found, promoted, kept current with as few calls as possible."""

from __future__ import annotations

import pytest

from sync.connections.exact import exact_client_for
from sync.models import InvoiceRecord

pytestmark = pytest.mark.django_db


def _puts(world) -> list[dict]:
    return [r for r in world.exact_requests() if r["method"] == "PUT" and "crm/Accounts" in r["path"]]


def test_a_known_unchanged_customer_costs_no_account_call_only_document_attachment_and_entry(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    before = len(world.exact_requests())
    attempt = world.sync(world.invoice([world.item()], account=account))
    calls = [(r["method"], r["path"].split("/api/v1/")[1].split("?")[0]) for r in world.exact_requests()[before:]]
    assert not [c for c in calls if "crm/Accounts" in c[1]]
    assert [method for method, _ in calls] == ["POST", "POST", "POST"]
    assert attempt.exact_calls == 3


def test_a_new_customer_is_searched_for_in_one_call_then_created(world):
    world.sync(world.invoice([world.item()]))
    account_calls = [r for r in world.exact_requests() if "crm/Accounts" in r["path"]]
    assert [r["method"] for r in account_calls] == ["GET", "POST"]


def test_an_accountants_account_with_the_same_vat_number_wins_over_one_with_the_same_email(world):
    account = world.account(custom={"btw-nummer": "NL000099998B57"})
    client = exact_client_for(world.installation)
    division = world.settings.division
    by_email = client.create_account(division, {"Name": "Other", "Email": account["email"], "Status": "C"})
    by_vat = client.create_account(
        division, {"Name": "NOORD CONSULTANCY", "VATNumber": "NL000099998B57", "Status": "C"}
    )
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    (entry,) = world.entries()
    assert entry["Customer"] == str(by_vat.id) != str(by_email.id)


def test_a_changed_eduframe_account_updates_the_exact_account_in_place(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    world.eduframe.rename_account(account["id"], "Noord Consultancy Groep B.V.")
    world.sync(world.invoice([world.item()], account=account))
    (exact_account,) = world.division()["accounts"]
    assert exact_account["Name"] == "Noord Consultancy Groep B.V."
    assert len(_puts(world)) == 1


def test_an_existing_prospect_with_the_same_name_and_email_is_not_changed_but_waits_for_a_choice(world):
    client = exact_client_for(world.installation)
    prospect = client.create_account(
        world.settings.division, {"Name": "Noord Consultancy", "Email": "finance@noord.example", "Status": "P"}
    )
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    (exact_account,) = world.division()["accounts"]
    assert exact_account["ID"] == str(prospect.id)
    assert exact_account["Status"] == "P"
    assert world.record(invoice).state == InvoiceRecord.State.NEEDS_ATTENTION
    assert not _puts(world)
    assert not world.entries()


def test_an_account_created_meanwhile_by_another_booking_is_adopted_when_exact_refuses_the_code(world, monkeypatch):
    account = world.account()
    client = exact_client_for(world.installation)
    winner = client.create_account(
        world.settings.division, {"Name": "Noord", "Code": f"EF{account['id']}", "Status": "C"}
    )
    # This booking looked before the other one created the account: its search finds nothing.
    monkeypatch.setattr("sync.services.account_match._search", lambda *args, **kwargs: (None, ""))
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    assert len(world.division()["accounts"]) == 1
    assert world.entry(invoice)["Customer"] == str(winner.id)
