"""`manage.py sync_status`: the oldest pending line reads well with and without a reason."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from sync.models import InvoiceRecord
from tests.factories import InvoiceRecordFactory

pytestmark = pytest.mark.django_db


def _status(installation) -> list[str]:
    out = StringIO()
    call_command("sync_status", "--installation", str(installation.pk), stdout=out)
    return out.getvalue().splitlines()


def _oldest_line(lines: list[str]) -> str:
    return next(line for line in lines if "oldest pending" in line)


def test_a_pending_invoice_without_a_reason_gets_no_dangling_dash():
    record = InvoiceRecordFactory(state=InvoiceRecord.State.PENDING, number="2026-0605", reason="")
    line = _oldest_line(_status(record.installation))
    assert line.startswith(f"  oldest pending: invoice {record.eduframe_invoice_id} (2026-0605) since ")
    assert not line.rstrip().endswith("-")


def test_a_pending_invoice_with_a_reason_shows_it():
    record = InvoiceRecordFactory(state=InvoiceRecord.State.PENDING, number="", reason="Eduframe failed (503).")
    line = _oldest_line(_status(record.installation))
    assert line.startswith(f"  oldest pending: invoice {record.eduframe_invoice_id} since ")
    assert line.endswith(" - Eduframe failed (503).")
