"""`manage.py reconciliation_report` as a subprocess with the service's environment (contract: operator commands)."""

from __future__ import annotations

import csv
from io import StringIO

import pytest

from tests.contract.conftest import eduframe_invoices, eduframe_today, entries_by_ref

pytestmark = pytest.mark.contract


def _report(installed, *extra):
    period = f"{eduframe_today(installed.service):%Y-%m}"
    args = ["--installation", str(installed.installation_id), "--period", period, *extra]
    done = installed.service.manage("reconciliation_report", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_report_lists_differences_by_invoice_number_then_the_totals_of_both_sides(installed, backfilled):
    lines = _report(installed)
    assert lines[-2].startswith("Eduframe  "), lines
    assert lines[-1].startswith("Exact  "), lines
    known = {invoice["number"] for invoice in eduframe_invoices(installed.service).values()}
    known |= set(entries_by_ref(installed.service))
    for line in lines[:-2]:
        assert line.split("  ")[0] in known, line
    missing = [line for line in lines[:-2] if "in Eduframe, not in Exact" in line]
    assert not [line for line in missing if line.split("  ")[0] in backfilled], missing


def test_the_csv_report_has_the_same_differences_and_totals(installed, backfilled):
    text = _report(installed)
    rows = list(csv.reader(StringIO("\n".join(_report(installed, "--csv")))))
    assert [row[0] for row in rows[:-2]] == [line.split("  ")[0] for line in text[:-2]]
    assert rows[-2][0] == "Eduframe total"
    assert rows[-1][0] == "Exact total"
    assert text[-1].startswith(f"Exact  {rows[-1][1]} ")


def test_the_report_refuses_a_period_that_is_not_a_month(installed):
    done = installed.service.manage(
        "reconciliation_report", "--installation", str(installed.installation_id), "--period", "March"
    )
    assert done.returncode != 0
    assert "YYYY-MM" in done.stderr
