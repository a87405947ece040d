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


def test_tokens_the_key_does_not_open_are_named_in_plain_words(settings):
    from cryptography.fernet import Fernet

    from tests.factories import ExactConnectionFactory

    settings.TOKEN_ENCRYPTION_KEY = Fernet.generate_key().decode()
    connection = ExactConnectionFactory()
    settings.TOKEN_ENCRYPTION_KEY = Fernet.generate_key().decode()  # started with another key
    lines = _status(connection.installation)
    assert (
        "  Reconnect needed: the stored Exact Online connection cannot be decrypted with TOKEN_ENCRYPTION_KEY. Put "
        "the key it was stored with after the current one (TOKEN_ENCRYPTION_KEY=<new>,<old>) and restart, or "
        "reconnect Exact Online on the settings page."
    ) in lines
    assert any(line.startswith("  Reconnect needed: the stored Eduframe credentials") for line in lines)
