"""Eduframe texts Exact would refuse (too long, a country name, no name) are fitted, and the fitting is logged."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _state(world, invoice):
    record = world.record(invoice)
    record.refresh_from_db()
    return record


def _notes(attempt) -> list[str]:
    return [d["line"] for d in attempt.decisions if set(d) == {"line"}]


def test_a_country_written_out_is_sent_as_its_iso_code(world):
    address = {"address": "Stationsplein 1", "postal_code": "3511 ED", "city": "Utrecht", "country": "Nederland"}
    invoice = world.invoice([world.item()], account=world.account(address=address))
    attempt = world.sync(invoice)
    assert _state(world, invoice).state == "booked"
    (account,) = world.division()["accounts"]
    assert account["Country"] == "NL "
    assert "Country 'Nederland' sent to Exact as NL." in _notes(attempt)


def test_an_unknown_country_is_left_out_instead_of_failing_the_booking(world):
    address = {"address": "Main St 1", "postal_code": "1000", "city": "Atlantis", "country": "Atlantis"}
    invoice = world.invoice([world.item()], account=world.account(address=address))
    attempt = world.sync(invoice)
    assert _state(world, invoice).state == "booked"
    assert world.division()["accounts"][0]["Country"] is None
    assert any("not an ISO country code" in note for note in _notes(attempt))


def test_an_account_without_a_name_is_named_after_the_invoice_instead_of_refused(world):
    account = world.account(name="")
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    assert _state(world, invoice).state == "booked"
    (exact_account,) = world.division()["accounts"]
    assert exact_account["Name"].strip()


def test_an_account_without_address_or_email_is_booked(world):
    invoice = world.invoice([world.item()], account=world.account(address=None, email=None))
    world.sync(invoice)
    assert _state(world, invoice).state == "booked"


def test_long_texts_are_cut_to_exacts_limits_and_the_feature_stays_whole(world):
    account = world.account(name="Stichting " + "Opleidingen " * 8, email="x" * 120 + "@example.com")
    item = world.item(name="Cursus " + "projectmanagement " * 6)
    invoice = world.invoice([item], account=account, feature="PO-2025-0042")
    attempt = world.sync(invoice)
    assert _state(world, invoice).state == "booked", _state(world, invoice).reason
    entry = world.entry(invoice)
    assert len(entry["Description"]) <= 60
    assert entry["Description"].endswith(" - PO-2025-0042")
    assert len(entry["SalesEntryLines"][0]["Description"]) <= 60
    (exact_account,) = world.division()["accounts"]
    assert len(exact_account["Name"]) <= 50
    assert exact_account["Name"].endswith("…")
    assert exact_account["Email"] is None
    notes = _notes(attempt)
    assert "Account Name cut to 50 characters for Exact." in notes
    assert any("Email" in note for note in notes)


def test_a_cut_booking_synced_again_costs_no_exact_call(world):
    account = world.account(name="N" * 80)
    invoice = world.invoice([world.item(name="L" * 90)], account=account)
    world.sync(invoice)
    before = len(world.exact_requests())
    attempt = world.sync(invoice)
    assert attempt.outcome == "unchanged"
    assert len(world.exact_requests()) == before
