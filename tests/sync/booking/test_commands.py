"""The operator commands, run in-process against both simulators."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sync.models import InvoiceRecord

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_sync_invoices_books_one_invoice_and_creates_its_record(world):
    invoice = world.invoice([world.item()])
    output = _run("sync_invoices", "--invoice", str(invoice["id"]))
    record = InvoiceRecord.objects.get(eduframe_invoice_id=invoice["id"])
    assert record.state == InvoiceRecord.State.BOOKED
    assert f"invoice {invoice['id']} ({record.number}): Booked - Booked as entry" in output


def test_sync_invoices_refuses_an_invoice_id_eduframe_never_had_and_leaves_no_record(world):
    # An operator's typo must not put a phantom "removed from Exact" invoice in the sync log and sync_status.
    with pytest.raises(CommandError, match="Eduframe has no invoice 987654321"):
        _run("sync_invoices", "--invoice", "987654321")
    assert not InvoiceRecord.objects.filter(eduframe_invoice_id=987654321).exists()
    assert world.exact_requests() == []


def test_sync_invoices_dry_run_prints_the_payload_and_writes_nothing_to_exact(world):
    invoice = world.invoice([world.item("Cursus", "100.00")])
    output = _run("sync_invoices", "--invoice", str(invoice["id"]), "--dry-run")
    payload = json.loads(output[output.index("{") :])
    assert payload["Customer"] == "<new account>"
    assert payload["Document"] == "<new document>"
    assert payload["SalesEntryLines"][0]["AmountFC"] == "100.00"
    assert all(request["method"] == "GET" for request in world.exact_requests())
    assert world.entries() == []


def test_sync_invoices_since_books_every_invoice_dated_since(world):
    invoices = [world.invoice([world.item()]) for _ in range(2)]
    world.invoice([world.item()], status="concept")
    output = _run("sync_invoices", "--since", str(world.settings.sync_from))
    assert len(world.entries()) == 2
    assert output.count("Booked as entry") == len(invoices)


def test_sync_invoices_without_arguments_retries_the_waiting_records(world):
    world.settings.journal_code = ""
    world.settings.save()
    invoice = world.invoice([world.item()])
    _run("sync_invoices", "--invoice", str(invoice["id"]))
    world.settings.journal_code = "70"
    world.settings.save()
    output = _run("sync_invoices")
    assert "Booked as entry" in output
    assert InvoiceRecord.objects.get(eduframe_invoice_id=invoice["id"]).state == InvoiceRecord.State.BOOKED


def test_sync_status_prints_counts_per_state_and_the_last_error(world):
    world.settings.journal_code = ""
    world.settings.save()
    _run("sync_invoices", "--invoice", str(world.invoice([world.item()])["id"]))
    output = _run("sync_status", "--installation", str(world.installation.pk))
    assert "needs_attention: 1" in output
    assert "last error:" in output
    assert "'Journal code'" in output


def test_sync_invoices_goes_on_after_a_bug_on_one_invoice_and_says_so(world, monkeypatch):
    from django.core.management.base import CommandError

    import sync.services.invoice_sync as sync_module

    broken, fine = world.invoice([world.item()]), world.invoice([world.item()])
    real_plan = sync_module.plan_for_invoice

    def plan_with_a_bug(*, invoice, **kwargs):
        if invoice.id == broken["id"]:
            raise ZeroDivisionError("a bug in the mapping")
        return real_plan(invoice=invoice, **kwargs)

    monkeypatch.setattr(sync_module, "plan_for_invoice", plan_with_a_bug)
    with pytest.raises(CommandError, match="1 invoice"):
        _run("sync_invoices", "--since", str(world.settings.sync_from))
    assert InvoiceRecord.objects.get(eduframe_invoice_id=fine["id"]).state == InvoiceRecord.State.BOOKED
    stuck = InvoiceRecord.objects.get(eduframe_invoice_id=broken["id"])
    assert stuck.state == InvoiceRecord.State.NEEDS_ATTENTION
    assert "a bug in the mapping" in stuck.reason


def test_sync_invoices_waits_out_a_spent_exact_window_in_its_own_process_and_books_everything(world):
    limits = world.exact.limits
    limits.window_seconds, limits.minutely_limit = 3, 10  # a short window, announced in the reset headers
    invoices = [world.invoice([world.item()]) for _ in range(3)]
    output = _run("sync_invoices", "--since", str(world.settings.sync_from))
    assert "for Exact's per-minute limit" in output
    assert sorted(e["YourRef"] for e in world.entries()) == sorted(i["number"] for i in invoices)
    assert [r for r in world.exact.request_log if r["status"] == 429] == []
