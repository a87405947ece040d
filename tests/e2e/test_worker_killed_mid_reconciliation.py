"""A worker killed (SIGKILL) while it makes a reconciliation report: the run is shown failed, with why, and the
report can be run again from the page, instead of a "running" bar that never moves."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from sync.models import TenantQueue
from sync.reconciliation_models import ReconciliationRun

from .conftest import wait_for
from .test_worker_books_invoices import installation  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ReconciliationRun.Status


def _admin(installation) -> Client:  # noqa: F811
    client = Client()
    session = client.session
    session["installation_id"] = installation.pk
    session.save()
    return client


def _run_report(admin: Client, period: str) -> ReconciliationRun:
    assert admin.post("/settings/reconciliation/run", {"period": period}).status_code == 302
    return ReconciliationRun.objects.order_by("-pk").first()


def test_a_report_whose_worker_was_killed_shows_failed_and_runs_again(
    celery_workers,
    installation,  # noqa: F811
    eduframe_sandbox,
):
    period = f"{timezone.localdate():%Y-%m}"
    admin = _admin(installation)
    first_worker = celery_workers()
    # The settings' first reconciliation (queued when they were saved) lists the invoices first: let it finish.
    wait_for(
        lambda: TenantQueue.objects.filter(installation=installation, last_full_scan_at__isnull=False).exists(),
        what="the first reconciliation of the installation",
    )
    # Eduframe is slow to list the invoices: the worker is in the middle of the report when it is killed.
    slow_list = eduframe_sandbox.state.inject_fault("GET /invoices", "timeout", count=1, seconds=60)
    run = _run_report(admin, period)
    wait_for(
        lambda: ReconciliationRun.objects.get(pk=run.pk).status == Status.RUNNING,
        what="the worker to start the report",
    )
    # Killed while its list request hangs, not before it is sent: else the slow answer is the second run's.
    wait_for(lambda: slow_list["remaining"] == 0, what="the report's request for the invoice list")
    first_worker.kill()

    celery_workers()  # the restarted worker sees at its start that the report's process is gone
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "worker making it was stopped or restarted" in run.error
    page = admin.get(f"/settings/reconciliation/?period={period}").content.decode()
    assert "could not be made" in page
    assert "run the report again" in page
    assert admin.get(f"/settings/reconciliation/{run.pk}/progress").json()["status"] == Status.FAILED

    again = _run_report(admin, period)
    assert again.pk != run.pk
    wait_for(
        lambda: ReconciliationRun.objects.get(pk=again.pk).status == Status.DONE,
        timeout=90,
        what="the second run of the report to finish",
    )
    assert "could not be made" not in admin.get(f"/settings/reconciliation/?period={period}").content.decode()
