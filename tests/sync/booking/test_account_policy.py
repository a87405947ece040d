"""Whose account it is: EduExact changes only its own Exact accounts and never silently adopts a stranger's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact import exact_client_for
from sync.models import AccountLink, InvoiceRecord
from sync.services.account_decision import DecisionError, account_decide
from sync.services.account_match import names_match

pytestmark = pytest.mark.django_db
VAT = "NL000099998B57"


def _account_calls(world, since: int = 0) -> list[str]:
    return [r["method"] for r in world.exact_requests()[since:] if "crm/Accounts" in r["path"]]


def _stranger(world, name="Zuid Holding", **fields):
    """An account an accountant made in Exact, not EduExact."""
    client = exact_client_for(world.installation)
    return client.create_account(world.settings.division, {"Name": name, "Status": "C", **fields})


def _exact_account(world, account_id) -> dict:
    return next(a for a in world.division()["accounts"] if a["ID"] == str(account_id))


@pytest.mark.parametrize(
    ("ours", "theirs", "same"),
    [
        ("Noord Consultancy B.V.", "NOORD CONSULTANCY", True),
        ("Noord Consultancy B.V.", "Noord Consultancy BV", True),
        ("Noord Consultancy B.V.", "Zuid Holding B.V.", False),
        ("Noord Consultancy B.V.", "", False),
        (
            "Stichting Voor Heel Lange Namen Die Exact Afknipt Op Vijftig T…",
            "Stichting voor heel lange namen die Exact afknipt op vijftig tekens",
            True,
        ),
    ],
)
def test_names_match_ignores_case_punctuation_and_legal_form_only(ours, theirs, same):
    assert names_match(ours, theirs) is same


def test_a_vat_match_with_another_name_waits_for_the_administrator_and_changes_nothing(world):
    stranger = _stranger(world, VATNumber=VAT, Email="boekhouding@zuid.example")
    account = world.account(custom={"btw-nummer": VAT})
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    record = world.record(invoice)
    assert record.state == InvoiceRecord.State.NEEDS_ATTENTION
    assert "Zuid Holding" in record.reason
    assert "VAT number" in record.reason
    assert "Link to this account" in record.fix_hint
    assert not world.entries()
    assert len(world.division()["accounts"]) == 1
    assert _exact_account(world, stranger.id)["Email"] == "boekhouding@zuid.example"
    link = AccountLink.objects.get(eduframe_account_id=account["id"])
    assert link.candidate_account_id == stranger.id
    assert link.exact_account_id is None

    # Retrying before a choice is made costs no account call: the candidate is remembered.
    before = len(world.exact_requests())
    world.sync(invoice)
    assert _account_calls(world, before) == []
    assert world.record(invoice).state == InvoiceRecord.State.NEEDS_ATTENTION


def test_link_to_this_account_books_on_it_and_never_overwrites_its_fields(world):
    stranger = _stranger(world, VATNumber=VAT, Email="boekhouding@zuid.example", City="Maastricht")
    account = world.account(custom={"btw-nummer": VAT})
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    queued = account_decide(
        installation=world.installation, eduframe_account_id=account["id"], choice="link", trigger="manual"
    )
    assert queued == 1
    world.sync(invoice)
    assert world.record(invoice).state == InvoiceRecord.State.BOOKED
    assert world.entry(invoice)["Customer"] == str(stranger.id)
    # Eduframe changes the account: EduExact still writes nothing to an account it did not create.
    world.eduframe.rename_account(account["id"], "Noord Consultancy Groep B.V.")
    before = len(world.exact_requests())
    second = world.invoice([world.item()], account=account)
    world.sync(second)
    assert world.entry(second)["Customer"] == str(stranger.id)
    assert _account_calls(world, before) == []
    exact_account = _exact_account(world, stranger.id)
    assert (exact_account["Name"], exact_account["Email"], exact_account["City"]) == (
        "Zuid Holding",
        "boekhouding@zuid.example",
        "Maastricht",
    )
    assert not [r for r in world.exact_requests() if r["method"] == "PUT" and "crm/Accounts" in r["path"]]


def test_create_a_new_account_makes_one_ef_account_and_leaves_the_candidate_alone(world):
    stranger = _stranger(world, Email="finance@noord.example")
    account = world.account()
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    assert "e-mail address" in world.record(invoice).reason
    account_decide(
        installation=world.installation, eduframe_account_id=account["id"], choice="create", trigger="manual"
    )
    world.sync(invoice)
    world.sync(world.invoice([world.item()], account=account))
    ours = [a for a in world.division()["accounts"] if a["Code"].strip() == f"EF{account['id']}"]
    assert len(ours) == 1
    assert len(world.division()["accounts"]) == 2
    assert world.entry(invoice)["Customer"] == ours[0]["ID"]
    assert _exact_account(world, stranger.id)["Name"] == "Zuid Holding"


def test_a_choice_without_a_candidate_is_refused_with_a_reason(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    with pytest.raises(DecisionError, match="does not wait"):
        account_decide(
            installation=world.installation, eduframe_account_id=account["id"], choice="link", trigger="manual"
        )


def test_an_existing_customer_with_the_same_name_is_adopted_without_any_write(world):
    existing = _stranger(world, name="Noord Consultancy", Email="finance@noord.example", City="Amersfoort")
    account = world.account()
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    assert world.entry(invoice)["Customer"] == str(existing.id)
    assert _exact_account(world, existing.id)["City"] == "Amersfoort"
    assert AccountLink.objects.get(eduframe_account_id=account["id"]).origin == AccountLink.Origin.NAME_MATCH
    assert _account_calls(world) == ["POST", "GET"]  # the stranger made by the test, then one search


def test_our_own_account_is_written_only_when_what_we_send_changed_and_only_what_changed(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    link = AccountLink.objects.get(eduframe_account_id=account["id"])
    # The accountant corrects the city in Exact: it stays until Eduframe changes the city itself.
    world.exact.division(world.settings.division).accounts[str(link.exact_account_id)]["City"] = "Utrecht Centrum"
    world.sync(world.invoice([world.item()], account=account))
    world.eduframe.rename_account(account["id"], "Noord Consultancy Groep B.V.")
    before = len(world.exact_requests())
    world.sync(world.invoice([world.item()], account=account))
    assert _account_calls(world, before) == ["PUT"]
    exact_account = _exact_account(world, link.exact_account_id)
    assert (exact_account["Name"], exact_account["City"]) == ("Noord Consultancy Groep B.V.", "Utrecht Centrum")


def test_an_account_deleted_in_exact_is_recreated_once_when_exact_refuses_it(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    link = AccountLink.objects.get(eduframe_account_id=account["id"])
    world.exact.division(world.settings.division).accounts.pop(str(link.exact_account_id))
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    assert world.record(invoice).state == InvoiceRecord.State.BOOKED
    (exact_account,) = world.division()["accounts"]
    assert world.entry(invoice)["Customer"] == exact_account["ID"]
    # Paid only when it happened: one refused document, then one search (no 404 earned) and one create.
    refused = [r for r in world.exact_requests() if isinstance(r["status"], int) and r["status"] >= 400]
    assert len(refused) == 1
    assert _account_calls(world)[-2:] == ["GET", "POST"]


def test_two_eduframe_accounts_sharing_an_email_address_get_an_ef_account_each(world):
    jan = world.account(name="Jan Jansen", email="thuis@jansen.example")
    piet = world.account(name="Jan Jansen", email="thuis@jansen.example")
    first, second = world.invoice([world.item()], account=jan), world.invoice([world.item()], account=piet)
    world.sync(first)
    world.sync(second)
    codes = sorted(a["Code"].strip() for a in world.division()["accounts"])
    assert codes == sorted([f"EF{jan['id']}", f"EF{piet['id']}"])
    assert world.entry(first)["Customer"] != world.entry(second)["Customer"]


def test_our_account_turned_into_a_prospect_in_exact_is_made_a_customer_again_and_booked(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    link = AccountLink.objects.get(eduframe_account_id=account["id"])
    world.exact.division(world.settings.division).accounts[str(link.exact_account_id)]["Status"] = "P"
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    assert world.record(invoice).state == InvoiceRecord.State.BOOKED
    assert _exact_account(world, link.exact_account_id)["Status"] == "C"
    assert len(world.division()["accounts"]) == 1


def test_an_adopted_account_turned_into_a_prospect_is_not_changed_but_explained(world):
    existing = _stranger(world, name="Noord Consultancy", Email="finance@noord.example")
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    world.exact.division(world.settings.division).accounts[str(existing.id)]["Status"] = "P"
    invoice = world.invoice([world.item()], account=account)
    world.sync(invoice)
    record = world.record(invoice)
    assert record.state == InvoiceRecord.State.NEEDS_ATTENTION
    assert "not a customer" in record.fix_hint
    assert _exact_account(world, existing.id)["Status"] == "P"
    assert len(world.division()["accounts"]) == 1


def _window_holds(world, calls: int) -> None:
    reset = timezone.now() + timedelta(seconds=40)
    ExactConnection.objects.filter(installation=world.installation).update(
        minutely_remaining=calls, minutely_reset_at=reset
    )


def test_a_known_customer_is_booked_in_a_window_of_three_calls_and_a_changed_one_waits_for_four(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))
    unchanged = world.invoice([world.item()], account=account)
    _window_holds(world, 3)
    world.sync(unchanged)
    assert world.record(unchanged).state == InvoiceRecord.State.BOOKED
    # Eduframe renamed the customer: its account is written too, so the booking starts only with 4 calls.
    world.eduframe.rename_account(account["id"], "Noord Consultancy Groep B.V.")
    changed = world.invoice([world.item()], account=account)
    _window_holds(world, 3)
    before = len(world.exact_requests())
    world.sync(changed)
    record = world.record(changed)
    assert (record.state, record.waiting_for) == (InvoiceRecord.State.PENDING, InvoiceRecord.WaitingFor.EXACT_MINUTE)
    assert world.exact_requests()[before:] == []  # deferred whole, before any call
    _window_holds(world, 4)
    world.sync(changed)
    assert world.record(changed).state == InvoiceRecord.State.BOOKED
    assert _account_calls(world, before) == ["PUT"]


def test_a_new_customers_invoice_sent_into_a_window_of_three_calls_waits_whole_and_then_is_known_to_need_five(world):
    # The dispatcher sends a webhook's invoice before it knows the customer (see test_dispatch): the booking
    # finds a new customer with the account in hand and waits for the next window before any Exact call.
    world.sync(world.invoice([world.item()], account=world.account()))  # reference data read and cached
    invoice = world.invoice(
        [world.item()], account=world.account(name="Zuid Opleidingen B.V.", email="boekhouding@zuid.example")
    )
    before = len(world.exact_requests())
    _window_holds(world, 3)
    world.sync(invoice)
    record = world.record(invoice)
    assert (record.state, record.waiting_for) == (InvoiceRecord.State.PENDING, InvoiceRecord.WaitingFor.EXACT_MINUTE)
    assert world.exact_requests()[before:] == []
    assert record.eduframe_account_id is not None  # the dispatcher's next estimate counts a new customer
    _window_holds(world, 5)
    world.sync(invoice)
    assert world.record(invoice).state == InvoiceRecord.State.BOOKED
