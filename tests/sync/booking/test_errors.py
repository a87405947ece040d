"""Errors park an invoice in the right state, in the administrator's words, without blind retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import CourseOverride, ExactConnection
from sync.models import InvoiceRecord
from tests.factories import CourseOverrideFactory

pytestmark = pytest.mark.django_db
State = InvoiceRecord.State


def _record(world, invoice) -> InvoiceRecord:
    record = world.record(invoice)
    record.refresh_from_db()
    return record


def test_an_unknown_cost_center_needs_attention_with_exacts_words_and_a_hint_then_books_once_fixed(world):
    course, edition, variant = world.edition()
    override = CourseOverrideFactory(
        installation=world.installation,
        scope=CourseOverride.Scope.EDITION,
        eduframe_id=edition["id"],
        cost_center="999",
    )
    invoice = world.invoice([world.item(variant=variant)])
    attempt = world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == State.NEEDS_ATTENTION
    assert record.error_kind == InvoiceRecord.ErrorKind.FUNCTIONAL
    assert attempt.exact_message == "Ongeldige referentie: Kostenplaats"
    assert "Ongeldige referentie: Kostenplaats" in record.reason
    assert "'Cost center'" in record.fix_hint
    assert record.next_retry_at is None
    override.cost_center = "100"
    override.save()
    world.sync(invoice)
    assert _record(world, invoice).state == State.BOOKED
    assert world.entry(invoice)["SalesEntryLines"][0]["CostCenter"] == "100"


def test_a_missing_global_setting_needs_attention_by_its_label_without_calling_exact(world):
    world.settings.journal_code = ""
    world.settings.save()
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == State.NEEDS_ATTENTION
    assert "'Journal code'" in record.reason
    assert "'Journal code'" in record.fix_hint
    assert not any(r["method"] != "GET" for r in world.exact_requests())


def test_an_ambiguous_vat_percentage_asks_for_a_vat_mapping(world):
    exempt = world.eduframe.add_vat("Vrijgesteld", "0", has_vat=False)
    invoice = world.invoice([world.item(vat=exempt)])
    world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == State.NEEDS_ATTENTION
    assert record.reason == (
        "No Exact VAT code for the Eduframe VAT rate 'Vrijgesteld': several sales VAT codes have 0% in division "
        "1234567; choose one under VAT mapping on the settings page"
    )
    assert world.entries() == []


def test_a_temporary_exact_failure_leaves_the_invoice_pending_with_a_backoff(world):
    world.exact.inject_fault("POST salesentry/SalesEntries", "503")
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == State.PENDING
    assert record.error_kind == InvoiceRecord.ErrorKind.RETRYABLE
    assert record.retry_count == 1
    assert timezone.now() + timedelta(seconds=40) < record.next_retry_at < timezone.now() + timedelta(minutes=3)
    world.sync(invoice)
    assert _record(world, invoice).state == State.BOOKED
    assert len(world.entries()) == 1


def test_a_disconnected_exact_leaves_the_invoice_pending_until_reconnected(world):
    ExactConnection.objects.filter(installation=world.installation).update(
        status=ExactConnection.Status.NEEDS_RECONNECT
    )
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == State.PENDING
    assert record.error_kind == InvoiceRecord.ErrorKind.AUTH
    assert record.reason.startswith("Exact Online must be reconnected")


# Refusals Exact words differently in Dutch and English, each with a word of its fix hint.
REFUSALS = {
    "unknown cost center": ({"cost_center": "999"}, "'Cost center' does not exist"),
    "cost center required": ({"ledger_code": "8030"}, "requires a cost center"),
    "not a revenue ledger": ({"ledger_code": "1300"}, "not a revenue"),
}


def _refused_invoice(world, override: dict):
    course, edition, variant = world.edition()
    CourseOverrideFactory(
        installation=world.installation, scope=CourseOverride.Scope.EDITION, eduframe_id=edition["id"], **override
    )
    return world.invoice([world.item(variant=variant)])


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_an_english_speaking_exact_user_still_gets_the_dutch_message_we_ask_for_and_its_hint(world, case):
    override, hint = case
    world.exact.default_user().language = "en-GB"
    invoice = _refused_invoice(world, override)
    attempt = world.sync(invoice)
    record = _record(world, invoice)
    assert record.state == State.NEEDS_ATTENTION
    assert not any(word in attempt.exact_message for word in ("Invalid", "Mandatory")), attempt.exact_message
    assert hint in record.fix_hint


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_exacts_english_words_find_the_same_hint_as_its_dutch_ones(world, case, monkeypatch):
    # As if Exact answered in its English catalogue whatever we asked (the user's language winning).
    monkeypatch.setattr("sync.exact.client.MESSAGE_LANGUAGE", "en", raising=False)
    world.exact.default_user().language = "en-GB"
    override, hint = case
    invoice = _refused_invoice(world, override)
    attempt = world.sync(invoice)
    record = _record(world, invoice)
    assert any(word in attempt.exact_message for word in ("Invalid", "Mandatory")), attempt.exact_message
    assert attempt.exact_message in record.reason
    assert hint in record.fix_hint
