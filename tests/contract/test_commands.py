"""The operator's commands, run as subprocesses with the service's environment (contract: operator commands)."""

from __future__ import annotations

import json

import pytest

from tests.contract.conftest import DIVISION, entries_by_ref, exact_quiet

pytestmark = pytest.mark.contract


def exact_writes(service) -> int:
    return sum(1 for r in service.exact.control("GET", "requests")["requests"] if r["method"] != "GET")


@pytest.fixture(scope="module")
def booked_invoice(installed, backfilled) -> dict:
    """One demo invoice the service booked since `Sync from`."""
    return next(iter(sorted(backfilled.values(), key=lambda invoice: invoice["number"])))


def test_sync_status_shows_the_counts_per_state_of_each_installation(installed, backfilled):
    done = installed.service.manage("sync_status")
    assert done.returncode == 0, done.stderr
    assert f"Installation {installed.installation_id} " in done.stdout
    booked = next(line for line in done.stdout.splitlines() if line.strip().startswith("booked:"))
    assert int(booked.split(":")[1]) >= len(backfilled), done.stdout

    one = installed.service.manage("sync_status", "--installation", str(installed.installation_id))
    assert one.returncode == 0, one.stderr
    assert one.stdout == done.stdout  # one installation in this world


def test_sync_status_refuses_an_unknown_installation(installed):
    done = installed.service.manage("sync_status", "--installation", "999999")
    assert done.returncode != 0
    assert "999999" in done.stderr


def test_sync_invoices_dry_run_prints_the_entry_and_writes_nothing_to_exact(installed, booked_invoice):
    service = installed.service
    exact_quiet(service, for_seconds=1.0)
    writes = exact_writes(service)
    args = ["--installation", str(installed.installation_id), "--invoice", str(booked_invoice["id"])]
    done = service.manage("sync_invoices", *args, "--dry-run")
    assert done.returncode == 0, done.stderr
    head, _, payload = done.stdout.partition("\n")
    assert f"invoice {booked_invoice['id']}" in head, done.stdout
    assert f"division {DIVISION}" in head, done.stdout
    assert json.loads(payload)["YourRef"] == booked_invoice["number"]
    assert exact_writes(service) == writes


def test_sync_invoices_books_one_invoice_in_process_and_keeps_it_once(installed, booked_invoice):
    service = installed.service
    args = ["--installation", str(installed.installation_id), "--invoice", str(booked_invoice["id"])]
    done = service.manage("sync_invoices", *args)
    assert done.returncode == 0, done.stderr
    assert f"invoice {booked_invoice['id']} ({booked_invoice['number']})" in done.stdout
    assert len(entries_by_ref(service)[booked_invoice["number"]]) == 1
