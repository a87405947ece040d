"""Every outcome lands on the record: long texts fit our columns, an unexpected error never leaves a stale state.

Run on PostgreSQL too (DATABASE_URL=postgres://...): SQLite does not enforce a column's length, PostgreSQL does.
"""

from __future__ import annotations

import pytest

from sync.models import InvoiceRecord

pytestmark = pytest.mark.django_db
LONG_NUMBER = "2026-" + "LANGE-REEKS-" * 8  # 101 characters: our column holds 64
LONG_NAME = "Stichting " + "Samenwerkende Opleidingsinstituten Noord-Nederland " * 7  # > 300 characters


def _writes(world) -> list[str]:
    return [f"{r['method']} {r['endpoint']}" for r in world.exact_requests() if r["method"] != "GET"]


def test_an_invoice_number_and_account_name_longer_than_their_columns_are_fitted_and_booked_once(world):
    account = world.account(name=LONG_NAME)
    invoice = world.invoice([world.item()], account=account)
    world.eduframe.tables["invoices"][invoice["id"]]["number"] = LONG_NUMBER
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED, record.reason
    assert len(record.number) == 64
    assert record.number.endswith("…")
    assert record.number.startswith(LONG_NUMBER[:63])
    assert len(record.account_name) == 300
    assert len(world.entries()) == 1
    assert world.entries()[0]["YourRef"] == LONG_NUMBER[:30]
    writes = _writes(world)
    # The second sync (the same invoice, nothing changed) writes nothing: the booking was recorded whole.
    world.sync(invoice)
    assert _writes(world) == writes
    assert writes.count("POST salesentry/SalesEntries") == 1


def test_an_unexpected_error_while_updating_a_booked_invoice_lands_on_the_record(world, monkeypatch):
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = world.record(invoice)
    assert record.state == InvoiceRecord.State.BOOKED
    world.eduframe.tables["invoices"][invoice["id"]]["description"] = "Changed description"

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the update")

    monkeypatch.setattr("sync.exact.client.ExactClient.update_sales_entry", broken)
    with pytest.raises(RuntimeError):
        world.sync(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.NEEDS_ATTENTION
    assert "a bug in the update" in record.reason
    assert "Booked as entry" not in record.reason
    assert record.exact_entry_id is not None  # the entry is still ours: a retry updates it
    monkeypatch.undo()
    world.sync(invoice)
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    assert len(world.entries()) == 1
