"""The sync log: states, filter and search, the attempt history, retry, the Exact link, the dry-run preview."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sync.models import InvoiceRecord, SyncAttempt
from sync.services.invoice_queue import invoice_enqueue
from sync.services.invoice_sync import invoice_sync
from tests.factories import InvoiceRecordFactory

pytestmark = pytest.mark.django_db


def open_invoice(world, edition_index: int = 0) -> dict:
    """An opened invoice in the Eduframe simulator for one seeded edition."""
    state = world.state
    edition, variant, vat_kind = world.editions[edition_index]
    account = state.add_account(
        "Noord Consultancy",
        email="finance@noord.example",
        address={"address": "Stationsplein 1", "postal_code": "3511 ED", "city": "Utrecht", "country": "NL"},
    )
    line = {"name": variant["name"], "units": 1, "unit_price": variant["cost"]}
    line.update(invoice_vat_id=world.vats[vat_kind]["id"], catalog_variant_id=variant["id"])
    with state.webhooks_suppressed():
        return state.add_invoice(account["id"], [line], status="open")


def book(installation, invoice: dict) -> InvoiceRecord:
    record = invoice_enqueue(installation=installation, eduframe_invoice_id=invoice["id"], trigger="manual")
    invoice_sync(record_id=record.pk, trigger="manual")
    record.refresh_from_db()
    return record


def test_it_lists_every_state_with_the_reason_and_fix(admin, installation, connected):
    InvoiceRecordFactory(installation=installation, number="2026-0001", state="booked", account_name="Delta Bouw")
    InvoiceRecordFactory(
        installation=installation,
        number="2026-0002",
        state="needs_attention",
        reason="Exact refused cost center CC9.",
        fix_hint="Choose an existing cost center on the course's page.",
    )
    page = admin.get("/settings/log/").content.decode()
    assert "2026-0001" in page
    assert "Delta Bouw" in page
    assert "Exact refused cost center CC9." in page
    assert "Fix: Choose an existing cost center on the course&#x27;s page." in page


def test_the_list_reads_a_fixed_number_of_queries_and_not_the_attempts(admin, installation, connected):
    for n in range(30):
        record = InvoiceRecordFactory(installation=installation, number=f"2026-{n:04}", state="booked")
        SyncAttempt.objects.create(invoice=record, trigger="webhook", outcome="failed")
    with CaptureQueriesContext(connection) as queries:
        assert admin.get("/settings/log/").status_code == 200
    # The page shows the counts per state only: the last failed attempt is the sync_status command's. The
    # 30-day chart's one aggregate (invoices per day) is the only read of the attempts.
    attempt_reads = [q["sql"] for q in queries if "sync_syncattempt" in q["sql"]]
    assert len(attempt_reads) == 1
    assert "GROUP BY" in attempt_reads[0]
    assert len(queries) <= 14


def test_it_filters_by_state(admin, installation, connected):
    InvoiceRecordFactory(installation=installation, number="2026-0001", state="booked")
    InvoiceRecordFactory(installation=installation, number="2026-0002", state="skipped")
    page = admin.get("/settings/log/", {"state": "skipped"}).content.decode()
    assert "2026-0002" in page
    assert "2026-0001" not in page


def test_it_searches_by_number_and_account(admin, installation, connected):
    InvoiceRecordFactory(installation=installation, number="2026-0001", account_name="Delta Bouw")
    InvoiceRecordFactory(installation=installation, number="2026-0002", account_name="Polder Zorggroep")
    assert "2026-0001" not in admin.get("/settings/log/", {"q": "Polder"}).content.decode()
    assert "Polder" not in admin.get("/settings/log/", {"q": "2026-0001"}).content.decode()


def test_it_shows_only_its_own_invoices(admin, connected, other_installation):
    InvoiceRecordFactory(installation=other_installation, number="OTHER-1")
    assert "OTHER-1" not in admin.get("/settings/log/").content.decode()


def test_it_answers_404_for_another_installations_record(admin, connected, other_installation):
    record = InvoiceRecordFactory(installation=other_installation)
    assert admin.get(f"/settings/log/{record.pk}/").status_code == 404
    assert admin.post(f"/settings/log/{record.pk}/retry").status_code == 404


def test_it_shows_the_attempts_with_payload_answer_and_decisions(admin, installation, connected):
    record = InvoiceRecordFactory(installation=installation, number="2026-0003", state="needs_attention")
    SyncAttempt.objects.create(
        invoice=record,
        trigger="webhook",
        outcome="failed",
        message="Exact refused the entry.",
        exact_message="Kostenplaats: Verplicht",
        request_payload={"Journal": "70", "YourRef": "2026-0003"},
        response={"error": {"message": {"value": "Kostenplaats: Verplicht"}}},
        decisions=[
            {
                "line": "Course",
                "ledger": "template 12",
                "cost_center": "none",
                "cost_unit": "none",
                "vat_code": "mapping",
            }
        ],
    )
    page = admin.get(f"/settings/log/{record.pk}/").content.decode()
    assert "Eduframe webhook" in page
    assert "Failed" in page
    assert "Kostenplaats: Verplicht" in page
    assert "&quot;YourRef&quot;: &quot;2026-0003&quot;" in page
    assert "<td>template 12</td>" in page


def test_it_lists_what_was_cut_to_fit_exact_apart_from_the_lines(admin, installation, connected):
    record = InvoiceRecordFactory(installation=installation, number="2026-0004", state="booked")
    note = "Account Name cut to 50 characters for Exact."
    line = {"line": "Course", "ledger": "global", "cost_center": "none", "cost_unit": "none", "vat_code": "mapping"}
    SyncAttempt.objects.create(invoice=record, trigger="webhook", outcome="created", decisions=[line, {"line": note}])
    page = admin.get(f"/settings/log/{record.pk}/").content.decode()
    assert f"<li>{note}</li>" in page
    assert f"<td>{note}</td>" not in page


def test_it_shows_the_latest_attempts_and_counts_the_older_ones(admin, installation, connected):
    record = InvoiceRecordFactory(installation=installation, number="2026-0005", state="pending")
    for number in range(27):
        SyncAttempt.objects.create(invoice=record, trigger="retry", outcome="failed", message=f"try {number}")
    page = admin.get(f"/settings/log/{record.pk}/").content.decode()
    assert page.count('class="card attempt"') == 25
    assert "try 26" in page
    assert "2 older attempts not shown." in page


def test_retry_requeues_one_invoice(admin, installation, connected):
    record = InvoiceRecordFactory(installation=installation, state="needs_attention", error_kind="functional")
    response = admin.post(f"/settings/log/{record.pk}/retry")
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.state == "pending"


def test_retry_all_requeues_what_needs_attention(admin, installation, connected):
    waiting = InvoiceRecordFactory(installation=installation, state="needs_attention", error_kind="functional")
    booked = InvoiceRecordFactory(installation=installation, state="booked")
    response = admin.post("/settings/log/retry-attention", follow=True)
    assert "1 invoice(s) that needed attention will be tried again." in response.content.decode()
    waiting.refresh_from_db()
    booked.refresh_from_db()
    assert (waiting.state, booked.state) == ("pending", "booked")


def test_retry_needs_csrf(installation, connected):
    record = InvoiceRecordFactory(installation=installation)
    browser = Client(enforce_csrf_checks=True)
    session = browser.session
    session["installation_id"] = installation.pk
    session.save()
    assert browser.post(f"/settings/log/{record.pk}/retry").status_code == 403


def test_it_previews_the_entry_without_writing_to_exact(admin, installation, connected, eduframe_world, exact_world):
    invoice = open_invoice(eduframe_world)
    page = admin.get(f"/settings/log/preview/{invoice['id']}/").content.decode()
    assert "nothing is sent to Exact Online" in page
    assert "<code>8000</code>" in page
    assert "&quot;Journal&quot;: &quot;70&quot;" in page
    assert exact_world.state.counts().get("sales_entries", 0) == 0


def test_it_links_a_booked_invoice_to_its_entry_in_exact(admin, installation, connected, eduframe_world, exact_world):
    record = book(installation, open_invoice(eduframe_world))
    assert record.state == "booked", record.reason
    page = admin.get("/settings/log/").content.decode()
    expected = f"{exact_world.url}/docs/FinTransactionEntry.aspx?_Division_=1234567&amp;EntryID={record.exact_entry_id}"
    assert expected in page
    detail = admin.get(f"/settings/log/{record.pk}/").content.decode()
    assert "Retry by an administrator" in detail
    assert "Booked" in detail


def test_the_preview_says_what_stops_the_booking(admin, installation, connected, eduframe_world):
    from plugin.models import GlobalSettings

    GlobalSettings.objects.filter(installation=installation).update(ledger_code="")
    invoice = open_invoice(eduframe_world)
    page = admin.get(f"/settings/log/preview/{invoice['id']}/").content.decode()
    assert "It would not be booked" in page
    assert "the setting &#x27;Ledger code&#x27; is empty" in page


def test_the_preview_of_an_unknown_invoice_says_so(admin, connected, eduframe_world):
    page = admin.get("/settings/log/preview/999999/").content.decode()
    assert "The invoice does not exist in Eduframe (any more)." in page


def test_a_catch_up_shows_each_pending_invoice_with_what_it_waits_for_and_when(admin, installation, connected):
    from datetime import timedelta

    from django.utils import timezone

    from plugin.models import ExactConnection

    now = timezone.now()
    reset = now + timedelta(seconds=40)
    ExactConnection.objects.filter(installation=installation).update(
        minutely_limit=60, minutely_remaining=0, minutely_reset_at=reset
    )
    InvoiceRecordFactory(installation=installation, number="2025-00400", state="booked")
    first = InvoiceRecordFactory(
        installation=installation, number="2025-00412", state="pending", account_name="Delta Bouw",
        total_incl="121.00", due_at=now - timedelta(minutes=2), waiting_for="exact_minute",
    )  # fmt: skip
    InvoiceRecordFactory(
        installation=installation, number="2025-00413", state="pending", due_at=now - timedelta(minutes=1)
    )
    # Asked again but not waiting to be booked: it needs the administrator first.
    InvoiceRecordFactory(
        installation=installation, number="2025-00414", state="needs_attention", due_at=now - timedelta(minutes=1)
    )
    page = admin.get("/settings/log/").content.decode()
    assert "Delta Bouw" in page
    assert "€ 121.00" in page
    assert "Waits for Exact&#x27;s per-minute limit; booked at about" in page
    assert "After invoice 2025-00412; booked at about" in page
    assert "2 invoices waiting to be booked" in page
    assert "2 of 4 done" in page  # needing attention is done for the catch-up: it waits for a person
    assert "After invoice 2025-00413" not in page
    assert first.number in page
