"""The reconciliation page: who may see it, the estimate, the run it starts, progress, CSV, book again."""

from __future__ import annotations

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.test import Client
from django.utils import timezone

from sync.models import InvoiceRecord
from sync.reconciliation_models import ReconciliationRun
from sync.services.reconciliation_compare import Difference, MonthTotal, Report, Totals
from sync.services.reconciliation_export import report_to_json
from tests.factories import ExactConnectionFactory, InstallationFactory, InvoiceRecordFactory

pytestmark = pytest.mark.django_db


def _done_run(installation, *differences: Difference) -> ReconciliationRun:
    months = [MonthTotal(m, 0, 0) for m in range(1, 13)]
    report = Report(2026, 3, "70", 1234567, Totals(2, 200, 42, 242), Totals(1, 100, 21, 121), months, list(differences))
    return ReconciliationRun.objects.create(installation=installation, year=2026, month=3, status="done",
                                            result=report_to_json(report), finished_at=timezone.now())  # fmt: skip


def _difference(number: str, invoice_id: int, kind="missing_in_exact", repairable=True) -> Difference:
    return Difference(number, kind, "121.00", "", "never seen by EduExact", invoice_id, repairable)


def test_the_page_needs_the_session_of_an_installation(client):
    assert client.get("/settings/reconciliation/").status_code == 403


def test_the_page_shows_the_expected_calls_before_anything_runs(admin, installation):
    for status in ("open", "paid"):
        InvoiceRecordFactory(installation=installation, eduframe_status=status)
    ExactConnectionFactory(installation=installation, daily_remaining=4321)
    response = admin.get("/settings/reconciliation/?period=2026-03")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'value="2026-03"' in text
    assert "about <strong>3</strong> calls to Eduframe" in text  # one page per listed status
    assert "<strong>1</strong> call to Exact Online" in text
    assert "Exact Online allows 4321 more calls today" in text
    assert not ReconciliationRun.objects.exists()


def test_running_creates_a_queued_run_and_sends_its_task_after_commit(
    admin, installation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin.post("/settings/reconciliation/run", {"period": "2026-03"})
    assert response.status_code == 302
    assert response.url.endswith("?period=2026-03")
    run = ReconciliationRun.objects.get()
    assert (run.year, run.month, run.status) == (2026, 3, "queued")
    assert len(callbacks) == 1
    page = admin.get(response.url).content.decode()
    assert 'id="reconciliation-progress"' in page
    assert f'data-progress-url="/settings/reconciliation/{run.pk}/progress"' in page


def test_progress_is_json_for_the_polling_bar(admin, installation):
    run = ReconciliationRun.objects.create(installation=installation, year=2026, month=3, status="running",
                                           steps_done=2, steps_total=5)  # fmt: skip
    assert admin.get(f"/settings/reconciliation/{run.pk}/progress").json() == {
        "done": 2,
        "total": 5,
        "status": "running",
    }


def test_another_installations_report_is_not_found(admin):
    other = _done_run(InstallationFactory())
    assert admin.get(f"/settings/reconciliation/{other.pk}/csv").status_code == 404
    assert admin.post(f"/settings/reconciliation/{other.pk}/book-again").status_code == 404


def test_the_result_page_shows_totals_chart_and_differences(admin, installation):
    _done_run(installation, _difference("2026-0007", 7))
    text = admin.get("/settings/reconciliation/?period=2026-03").content.decode()
    assert "2026-0007" in text
    assert "in Eduframe, not in Exact" in text
    assert text.count("<rect ") == 24
    assert "Book again (1 invoice)" in text


def test_the_csv_export_has_the_invoice_number_first_and_the_totals_last(admin, installation):
    run = _done_run(installation, _difference("2026-0007", 7))
    response = admin.get(f"/settings/reconciliation/{run.pk}/csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="reconciliation-2026-03.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(StringIO(response.content.decode())))
    assert rows == [
        ["2026-0007", "in Eduframe, not in Exact", "121.00", "", "never seen by EduExact"],
        ["Eduframe total", "2", "200.00", "42.00", "242.00"],
        ["Exact total", "1", "100.00", "21.00", "121.00"],
    ]


def test_book_again_queues_only_the_repairable_invoices(admin, installation, django_capture_on_commit_callbacks):
    booked = InvoiceRecordFactory(installation=installation, eduframe_invoice_id=7, state="booked",
                                  booked_fingerprint="abc")  # fmt: skip
    run = _done_run(
        installation,
        _difference("2026-0007", 7, kind="amount_differs"),
        _difference("2026-0007", 7, kind="vat_differs"),
        _difference("2026-0008", 8, kind="processed_in_exact", repairable=False),
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin.post(f"/settings/reconciliation/{run.pk}/book-again")
    assert response.status_code == 302
    assert len(callbacks) == 1  # invoice 7 once, invoice 8 not at all
    booked.refresh_from_db()
    assert booked.booked_fingerprint == ""  # the worker compares with Exact again
    assert not InvoiceRecord.objects.filter(eduframe_invoice_id=8).exists()
    run.refresh_from_db()
    assert run.booked_again_at is not None


def test_the_navigation_links_the_page(admin):
    assert 'href="/settings/reconciliation/"' in admin.get("/settings/log/").content.decode()


def test_an_anonymous_client_cannot_start_a_run():
    assert Client().post("/settings/reconciliation/run", {"period": "2026-03"}).status_code == 403
    assert not ReconciliationRun.objects.exists()


def test_a_failed_run_says_why(admin, installation):
    ReconciliationRun.objects.create(installation=installation, year=2026, month=3, status="failed",
                                     error="Exact Online's daily call limit for this division is used up.")  # fmt: skip
    text = admin.get("/settings/reconciliation/?period=2026-03").content.decode()
    assert "could not be made" in text
    assert "daily call limit for this division is used up" in text


def test_operators_see_the_runs_in_the_admin(admin_client, installation):
    _done_run(installation)
    response = admin_client.get("/admin/sync/reconciliationrun/")
    assert response.status_code == 200
    assert "2026-03" in response.content.decode()


def _stale_run(installation, **fields) -> ReconciliationRun:
    run = ReconciliationRun.objects.create(installation=installation, year=2026, month=3, **fields)
    ReconciliationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    return run


def test_a_run_of_another_hosts_worker_that_stopped_making_progress_shows_failed_and_can_run_again(
    admin, installation, django_capture_on_commit_callbacks
):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    run = _stale_run(installation, status="running", started_at=an_hour_ago, heartbeat_at=an_hour_ago,
                     holder="another-host:4242:1", steps_done=3, steps_total=7)  # fmt: skip
    progress = admin.get(f"/settings/reconciliation/{run.pk}/progress").json()
    assert progress["status"] == "failed"
    page = admin.get("/settings/reconciliation/?period=2026-03").content.decode()
    assert "could not be made" in page
    assert "the background worker making it was stopped or restarted" in page
    with django_capture_on_commit_callbacks():
        admin.post("/settings/reconciliation/run", {"period": "2026-03"})
    assert ReconciliationRun.objects.filter(status="queued").count() == 1


def test_a_run_no_worker_took_up_shows_failed_with_what_to_check(admin, installation):
    run = _stale_run(installation, status="queued")
    assert admin.get(f"/settings/reconciliation/{run.pk}/progress").json()["status"] == "failed"
    run.refresh_from_db()
    assert "no background worker took it up" in run.error


def test_a_run_making_progress_is_left_running(admin, installation):
    now = timezone.now()
    run = ReconciliationRun.objects.create(installation=installation, year=2026, month=3, status="running",
                                           started_at=now, heartbeat_at=now, holder="another-host:4242:1")  # fmt: skip
    assert admin.get(f"/settings/reconciliation/{run.pk}/progress").json()["status"] == "running"
