"""The reconciliation report against both simulators over real HTTP: the command, the differences, book again."""

from __future__ import annotations

import csv
from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from sync.models import InvoiceRecord
from sync.reconciliation_models import ReconciliationRun
from sync.services.invoice_sync import invoice_sync
from sync.services.reconciliation import (
    reconciliation_book_again,
    reconciliation_request,
    reconciliation_run_execute,
    report_make,
)

from .conftest import DIVISION

pytestmark = pytest.mark.django_db


def _period() -> str:
    return f"{timezone.localdate():%Y-%m}"


def _report(world, *extra) -> list[str]:
    out, err = StringIO(), StringIO()
    call_command("reconciliation_report", "--installation", str(world.installation.pk), "--period", _period(),
                 *extra, stdout=out, stderr=err)  # fmt: skip
    return out.getvalue().splitlines()


def _accountant(world) -> httpx.Client:
    """Someone working in Exact by hand: the same user through another app (Exact's own screens)."""
    world.exact.register_client("exact-ui", "ui-secret", [])
    tokens = world.exact.issue_tokens_for(world.exact.default_user().user_id, client_id="exact-ui")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    return httpx.Client(base_url=f"{world.exact_url}/api/v1/{DIVISION}/", headers=headers, timeout=10)


def _booked(world, price="100.00"):
    invoice = world.invoice([world.item("Cursus", price)])
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    return invoice, record


def test_a_month_without_differences_prints_only_the_totals_of_both_sides(world):
    _booked(world, "100.00")
    _booked(world, "250.00")
    lines = _report(world)
    assert lines == [
        "Eduframe  2 invoices  excl. VAT 350.00  VAT 73.50  incl. VAT 423.50",
        f"Exact  2 entries  excl. VAT 350.00  VAT 73.50  incl. VAT 423.50  (journal 70, division {DIVISION})",
    ]


def test_the_report_reads_exact_in_one_bulk_call_with_select(world):
    for price in ("100.00", "200.00", "300.00"):
        _booked(world, price)
    before = len(world.exact_requests())
    _, _, exact_calls = report_make(
        installation=world.installation, year=timezone.localdate().year, month=timezone.localdate().month
    )
    calls = world.exact_requests()[before:]
    assert exact_calls == 1
    assert [c["endpoint"] for c in calls] == ["bulk/Financial/TransactionLines"]
    assert "%24select=" in calls[0]["path"] or "$select=" in calls[0]["path"]


def test_each_kind_of_difference_gets_a_line_that_starts_with_the_invoice_number(world):
    deleted_invoice, deleted = _booked(world, "100.00")
    changed_invoice, changed = _booked(world, "200.00")
    processed_invoice, processed = _booked(world, "300.00")
    gone_invoice, gone = _booked(world, "400.00")
    missing_invoice = world.invoice([world.item("Cursus", "500.00")])
    world.exact.clock.advance(300)  # the accountant works on it some minutes later
    with _accountant(world) as exact_ui:
        assert exact_ui.delete(f"salesentry/SalesEntries(guid'{deleted.exact_entry_id}')").status_code == 204
        line = world.entry(changed_invoice)["SalesEntryLines"][0]
        assert exact_ui.put(f"salesentry/SalesEntryLines(guid'{line['ID']}')", json={"AmountFC": 210}).is_success
    world.exact.process_entry(DIVISION, str(processed.exact_entry_id))
    with world.eduframe.webhooks_suppressed():
        world.eduframe.delete_invoice(gone_invoice["id"])
    missing_number = world.eduframe.tables["invoices"][missing_invoice["id"]]["number"]

    lines = _report(world)
    differences = lines[:-2]
    expected = {
        (deleted.number, "booked by EduExact, entry deleted in Exact"),
        (changed.number, "amount excl. VAT differs"),
        (changed.number, "VAT differs"),
        (changed.number, "entry changed in Exact by hand since EduExact booked it"),
        (processed.number, "entry processed in Exact since EduExact booked it"),
        (gone.number, "in Exact (booked by EduExact), no longer in Eduframe"),
        (missing_number, "in Eduframe, not in Exact"),
    }
    found = {(line.split("  ")[0], line.split("  ")[1]) for line in differences}
    assert found == expected
    assert len(differences) == len(expected)
    amount_line = f"{changed.number}  amount excl. VAT differs  Eduframe 200.00  Exact 210.00  entry "
    assert any(line.startswith(amount_line) for line in differences)
    assert lines[-2].startswith("Eduframe  4 invoices  excl. VAT 1100.00")  # deleted in Eduframe: not listed
    assert lines[-1].startswith("Exact  3 entries  excl. VAT 910.00")  # 210 (changed) + 300 + 400
    assert {deleted_invoice["id"], processed_invoice["id"]} <= {
        r.eduframe_invoice_id for r in InvoiceRecord.objects.all()
    }


def test_csv_has_the_invoice_number_first_then_the_totals_rows(world):
    _, record = _booked(world, "100.00")
    missing = world.invoice([world.item("Cursus", "50.00")])
    with _accountant(world) as exact_ui:
        assert exact_ui.delete(f"salesentry/SalesEntries(guid'{record.exact_entry_id}')").status_code == 204
    rows = list(csv.reader(StringIO("\n".join(_report(world, "--csv")))))
    number = world.eduframe.tables["invoices"][missing["id"]]["number"]
    assert sorted(row[:2] for row in rows[:-2]) == sorted(
        [[record.number, "booked by EduExact, entry deleted in Exact"], [number, "in Eduframe, not in Exact"]]
    )
    assert rows[-2] == ["Eduframe total", "2", "150.00", "31.50", "181.50"]
    assert rows[-1] == ["Exact total", "0", "0.00", "0.00", "0.00"]


def test_a_period_that_is_not_a_month_is_refused(world):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("reconciliation_report", "--installation", str(world.installation.pk), "--period", "2026-13")


def test_book_again_queues_exactly_the_repairable_invoices_and_repairs_them(world, django_capture_on_commit_callbacks):
    _, deleted = _booked(world, "100.00")
    changed_invoice, changed = _booked(world, "200.00")
    _, processed = _booked(world, "300.00")
    _booked(world, "400.00")  # no difference: must not be queued
    world.exact.clock.advance(300)
    with _accountant(world) as exact_ui:
        exact_ui.delete(f"salesentry/SalesEntries(guid'{deleted.exact_entry_id}')")
        line = world.entry(changed_invoice)["SalesEntryLines"][0]
        exact_ui.put(f"salesentry/SalesEntryLines(guid'{line['ID']}')", json={"AmountFC": 210})
    world.exact.clock.advance(-300)  # back in step with our clock, so the repairs are not "changed by hand"
    world.exact.process_entry(DIVISION, str(processed.exact_entry_id))
    today = timezone.localdate()
    with django_capture_on_commit_callbacks() as started:
        run = reconciliation_request(installation=world.installation, year=today.year, month=today.month)
    assert len(started) == 1  # the background task, sent after commit
    reconciliation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.DONE
    assert run.steps_done == run.steps_total

    with django_capture_on_commit_callbacks() as queued:
        assert reconciliation_book_again(run=run) == 2
    assert len(queued) == 2
    for record in (deleted, changed):
        invoice_sync(record_id=record.pk, trigger="manual")

    again, _, _ = report_make(installation=world.installation, year=today.year, month=today.month)
    assert [(d.number, d.kind) for d in again.differences] == [(processed.number, "processed_in_exact")]
    assert again.eduframe.incl == again.exact.incl


def test_without_the_bulk_endpoint_the_report_falls_back_to_sales_entries(world, monkeypatch):
    from sandbox.exact import app as exact_app

    monkeypatch.delitem(exact_app.RESOURCES, "bulk/Financial/TransactionLines")
    _, kept = _booked(world, "100.00")
    _, lost = _booked(world, "250.00")
    with _accountant(world) as exact_ui:
        assert exact_ui.delete(f"salesentry/SalesEntries(guid'{lost.exact_entry_id}')").status_code == 204
    lines = _report(world)
    assert lines[0].startswith(f"{lost.number}  booked by EduExact, entry deleted in Exact")
    assert lines[-1].startswith("Exact  1 entry  excl. VAT 100.00  VAT 21.00  incl. VAT 121.00")
    endpoints = {request["endpoint"] for request in world.exact_requests()[-4:]}
    assert "salesentry/SalesEntries" in endpoints


def test_the_report_takes_its_calls_from_the_divisions_budget_and_stops_when_it_is_spent(
    world, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from plugin.models import ExactConnection

    _booked(world, "100.00")
    tomorrow = timezone.now() + timedelta(hours=12)
    ExactConnection.objects.filter(installation=world.installation).update(daily_remaining=0, daily_reset_at=tomorrow)
    before = len(world.exact_requests())
    today = timezone.localdate()
    with django_capture_on_commit_callbacks():
        run = reconciliation_request(installation=world.installation, year=today.year, month=today.month)
    reconciliation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.FAILED
    assert "daily call limit" in run.error
    assert len(world.exact_requests()) == before  # refused before calling Exact


def test_the_command_waits_out_eduframes_throttle_instead_of_refusing(world, monkeypatch):
    # During a catch-up the workers' calls leave the tenant throttled for minutes (Eduframe's window is 5).
    import time
    from datetime import timedelta

    _booked(world, "100.00")
    world.installation.eduframe_throttled_until = timezone.now() + timedelta(seconds=120)
    world.installation.save(update_fields=["eduframe_throttled_until"])
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the wait passes at once: Eduframe's Retry-After is over
        waits.append(seconds)
        world.installation.__class__.objects.filter(pk=world.installation.pk).update(eduframe_throttled_until=None)

    monkeypatch.setattr(time, "sleep", sleep)
    out, err = StringIO(), StringIO()
    call_command("reconciliation_report", "--installation", str(world.installation.pk), "--period", _period(),
                 stdout=out, stderr=err)  # fmt: skip
    assert len(waits) == 1
    assert 100 < waits[0] <= 120
    assert "waiting" in err.getvalue()
    assert out.getvalue().splitlines()[0].startswith("Eduframe  1 invoice  excl. VAT 100.00")
