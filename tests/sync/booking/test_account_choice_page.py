"""The administrator chooses, on the invoice's page in the sync log, which Exact account an invoice goes to."""

from __future__ import annotations

import pytest

from sync.connections.exact import exact_client_for
from sync.models import AccountLink, InvoiceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(world):
    """An invoice whose Eduframe account shares its e-mail address with an accountant's 'Zuid Holding'."""
    client = exact_client_for(world.installation)
    stranger = client.create_account(
        world.settings.division, {"Name": "Zuid Holding", "Email": "finance@noord.example", "Status": "C"}
    )
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    return world.record(invoice), stranger


def test_the_invoice_page_shows_the_candidate_and_both_choices(admin, waiting):
    record, _ = waiting
    page = admin.get(f"/settings/log/{record.pk}/").content.decode()
    assert "Which Exact account?" in page
    assert "Zuid Holding" in page
    assert "e-mail address" in page
    assert "Link to this account" in page
    assert "Create a new account" in page


def test_link_over_http_books_the_invoice_on_the_candidate(admin, world, waiting):
    record, stranger = waiting
    response = admin.post(f"/settings/log/{record.pk}/account", {"choice": "link"}, follow=True)
    assert "Linked to the existing Exact account" in response.content.decode()
    link = AccountLink.objects.get(eduframe_account_id=record.eduframe_account_id)
    assert link.exact_account_id == stranger.id
    assert link.origin == AccountLink.Origin.ADMIN
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.PENDING
    world.sync({"id": record.eduframe_invoice_id})
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    assert "Which Exact account?" not in admin.get(f"/settings/log/{record.pk}/").content.decode()


def test_a_second_answer_is_refused_with_a_message(admin, waiting):
    record, _ = waiting
    admin.post(f"/settings/log/{record.pk}/account", {"choice": "create"})
    response = admin.post(f"/settings/log/{record.pk}/account", {"choice": "link"}, follow=True)
    assert "does not wait for a choice" in response.content.decode()
    assert AccountLink.objects.get(eduframe_account_id=record.eduframe_account_id).create_new


def test_an_unknown_choice_changes_nothing(admin, waiting):
    record, _ = waiting
    response = admin.post(f"/settings/log/{record.pk}/account", {"choice": "merge"}, follow=True)
    assert "Unknown choice" in response.content.decode()
    assert AccountLink.objects.get(eduframe_account_id=record.eduframe_account_id).candidate_account_id is not None
