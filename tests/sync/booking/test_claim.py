"""The per-invoice claim: one attempt at a time, and a sync asked for meanwhile is never lost."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone

from sync.models import InvoiceRecord, SyncAttempt
from sync.services import invoice_sync as sync_module
from sync.services.claim_recovery import claims_recover_abandoned
from sync.services.invoice_claim import RERUN, invoice_claim, invoice_release
from sync.services.worker_identity import holder_name, host_name
from sync.tasks import sync_invoice_task

pytestmark = pytest.mark.django_db


def test_a_claimed_invoice_is_not_booked_twice_but_flagged_for_a_rerun(world):
    invoice = world.invoice([world.item()])
    record = world.record(invoice)
    token = invoice_claim(record_id=record.pk)
    attempt = world.sync(invoice)
    record.refresh_from_db()
    assert attempt.pk is None
    assert attempt.outcome == SyncAttempt.Outcome.SKIPPED
    assert record.claim_token == token + RERUN
    assert world.exact_requests() == []
    assert invoice_release(record_id=record.pk, token=token) is True


def test_the_claim_holder_runs_again_when_a_sync_was_asked_for_meanwhile(world, monkeypatch):
    invoice = world.invoice([world.item()])
    record = world.record(invoice)
    real = sync_module._sync_claimed
    runs = []

    def sync_while_another_asks(record_id, trigger):
        runs.append(trigger)
        if len(runs) == 1:
            assert sync_module.invoice_sync(record_id=record_id, trigger=trigger).pk is None
        return real(record_id, trigger)

    monkeypatch.setattr(sync_module, "_sync_claimed", sync_while_another_asks)
    world.sync(invoice)
    record.refresh_from_db()
    assert len(runs) == 2
    assert record.state == InvoiceRecord.State.BOOKED
    assert (record.claim_token, record.claimed_until) == ("", None)
    assert len(world.entries()) == 1


def test_a_sync_still_asked_for_after_the_last_run_stays_due_for_the_dispatcher(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = world.invoice([world.item()])
    record = world.record(invoice)
    real = sync_module._sync_claimed
    runs = []

    def sync_while_others_keep_asking(record_id, trigger):
        runs.append(trigger)
        assert sync_module.invoice_sync(record_id=record_id, trigger=trigger).pk is None
        return real(record_id, trigger)

    monkeypatch.setattr(sync_module, "_sync_claimed", sync_while_others_keep_asking)
    with patch.object(sync_invoice_task, "delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=True):
            world.sync(invoice)
    assert len(runs) == sync_module.MAX_RUNS
    delay.assert_not_called()  # the booking never queues itself ...
    record.refresh_from_db()
    assert (record.state, record.claim_token, record.claimed_until) == (InvoiceRecord.State.BOOKED, "", None)
    assert record.due_at is not None  # ... the request waits in the database for the dispatcher


def test_a_sync_of_a_record_that_no_longer_exists_says_so(db):
    with pytest.raises(InvoiceRecord.DoesNotExist):
        sync_module.invoice_sync(record_id=987654, trigger=SyncAttempt.Trigger.RETRY)


@pytest.mark.django_db(transaction=True)
def test_the_holders_heartbeat_keeps_a_short_claim_alive_until_release(world, monkeypatch):
    monkeypatch.setattr("sync.services.invoice_claim.HEARTBEAT_EVERY", timedelta(seconds=0.05))
    record = world.record(world.invoice([world.item()]))
    token = invoice_claim(record_id=record.pk)
    record.refresh_from_db()
    first = record.claimed_until
    assert first <= timezone.now() + timedelta(seconds=61)
    assert record.claim_holder == holder_name()
    deadline = time.monotonic() + 5
    while record.claimed_until == first and time.monotonic() < deadline:
        time.sleep(0.05)
        record.refresh_from_db()
    assert record.claimed_until > first
    invoice_release(record_id=record.pk, token=token)
    record.refresh_from_db()
    assert (record.claim_token, record.claimed_until, record.claim_holder) == ("", None, "")


def _held_by(record, holder: str, until) -> None:
    InvoiceRecord.objects.filter(pk=record.pk).update(claim_token="abc", claim_holder=holder, claimed_until=until)
    SyncAttempt.objects.create(invoice=record, trigger=SyncAttempt.Trigger.WEBHOOK, request_payload={})


def test_a_claim_of_a_dead_process_on_this_host_is_recovered_at_once(world, django_capture_on_commit_callbacks):
    record = world.record(world.invoice([world.item()]))
    dead = subprocess.Popen(["true"])
    dead.wait()
    _held_by(record, f"{host_name()}:{dead.pid}:1", timezone.now() + timedelta(seconds=50))
    with django_capture_on_commit_callbacks() as queued:
        assert claims_recover_abandoned() == 1
    assert len(queued) == 1
    record.refresh_from_db()
    assert (record.claim_token, record.claimed_until) == ("", None)
    (cut_short,) = SyncAttempt.objects.filter(invoice=record)
    assert cut_short.outcome == SyncAttempt.Outcome.FAILED
    assert "worker stopped" in cut_short.message
    world.sync(world.eduframe.tables["invoices"][record.eduframe_invoice_id])
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED


def test_a_live_holders_claim_is_left_alone_and_another_hosts_only_once_it_ran_out(world):
    live, foreign = world.record(world.invoice([world.item()])), world.record(world.invoice([world.item()]))
    _held_by(live, holder_name(), timezone.now() + timedelta(seconds=50))
    _held_by(foreign, "elsewhere:12:34", timezone.now() + timedelta(seconds=50))
    assert claims_recover_abandoned() == 0
    InvoiceRecord.objects.filter(pk=foreign.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert claims_recover_abandoned() == 1
    live.refresh_from_db()
    assert live.claim_token == "abc"


def test_a_task_redelivered_after_its_pool_child_was_killed_takes_the_dead_childs_claim_and_books(world):
    record = world.record(world.invoice([world.item()]))
    dead = subprocess.Popen(["true"])
    dead.wait()
    _held_by(record, f"{host_name()}:{dead.pid}:1", timezone.now() + timedelta(seconds=50))
    world.sync(world.eduframe.tables["invoices"][record.eduframe_invoice_id])
    record.refresh_from_db()
    assert record.state == InvoiceRecord.State.BOOKED
    assert (record.claim_token, record.claimed_until) == ("", None)
    assert SyncAttempt.objects.filter(invoice=record, message__contains="worker stopped").count() == 1
