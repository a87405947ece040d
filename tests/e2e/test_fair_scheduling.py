"""Fair scheduling with a real worker: a tenant held up by its Exact budget never holds up another tenant.

One `--pool=solo` worker process: if it slept until tenant A's window reset, tenant B's invoice could not be
booked before that reset. The Exact simulator's window is shortened (announced in its reset headers).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import pytest
from amqp.exceptions import ChannelError
from django.utils import timezone
from kombu import Connection

from plugin.models import ExactConnection
from sync.models import InvoiceRecord, SyncAttempt
from sync.services.invoice_queue import invoice_enqueue
from sync.services.reconcile import installation_reconcile

from .conftest import beat_then, connected_installation, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
DIVISION_A, DIVISION_B = 2000001, 2000002
# B's booking must start within this of asking, before A's reset, to tell "at once" from "after A's window".
ROOM_BEFORE_RESET = timedelta(seconds=6)
WINDOW_SECONDS, CALLS_PER_WINDOW = 20, 10  # two bookings of one customer fit in a window, the third waits
# Enough that A still has work after any one window: when the first wait falls too close to its reset, the
# test takes the next one, and a backlog that fits in one window would leave no next wait to take.
BACKLOG = 6
State = InvoiceRecord.State


def _tenant(exact_sandbox, slug: str, division: int):
    return connected_installation(exact_sandbox, slug=slug, division=division)


@pytest.fixture
def world(celery_worker, exact_sandbox, eduframe_sandbox):
    """Tenants A and B (one Eduframe, two Exact divisions); A then gets a backlog that B does not ask for."""
    exact_sandbox.state.limits.window_seconds = WINDOW_SECONDS
    exact_sandbox.state.limits.minutely_limit = CALLS_PER_WINDOW
    a, b = _tenant(exact_sandbox, "tenant-a", DIVISION_A), _tenant(exact_sandbox, "tenant-b", DIVISION_B)
    # Saving their settings started each tenant's first reconciliation: let both find nothing yet.
    wait_for(
        lambda: celery_worker.log().count("invoices queued by reconciliation") >= 2,
        what="the tenants' first reconciliations",
    )
    eduframe = eduframe_sandbox.state
    vat = eduframe.add_vat("21% BTW", "21")
    account = eduframe.add_account("Noord Consultancy B.V.", email="finance@noord.example")
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}
    backlog = [eduframe.add_invoice(account["id"], [item], status="open") for _ in range(BACKLOG)]
    return {
        "a": a,
        "b": b,
        "backlog": backlog,
        "new": lambda: eduframe.add_invoice(account["id"], [item], status="open"),
    }


def _waiting_for_the_minute(installation):
    return InvoiceRecord.objects.filter(
        installation=installation, state=State.PENDING, waiting_for=InvoiceRecord.WaitingFor.EXACT_MINUTE
    ).first()


def _a_wait_with_room(a) -> tuple[InvoiceRecord, datetime]:
    """One of A's waits for its window with room before the reset (a wait that ends too soon cannot tell a
    prompt booking of B from a sleeping worker): the first such wait of A's backlog, and its reset."""
    previous_reset: datetime | None = None
    for _ in range(BACKLOG):
        waiting = wait_for(beat_then(partial(_next_wait, a, previous_reset)), timeout=60, what="tenant A to wait")
        reset = ExactConnection.objects.get(installation=a).minutely_reset_at
        if reset - timezone.now() >= ROOM_BEFORE_RESET:
            return waiting, reset
        wait_for(partial(_passed, reset), timeout=30, what="A's window to pass")
        previous_reset = reset
    pytest.fail(f"A never waited with {ROOM_BEFORE_RESET} left before its reset.")


def _next_wait(a, previous_reset: datetime | None) -> InvoiceRecord | None:
    """A's invoice waiting for its window, in a window after `previous_reset`."""
    if previous_reset is not None and not _passed(previous_reset + timedelta(seconds=1)):
        return None
    return _waiting_for_the_minute(a)


def _passed(moment: datetime) -> bool:
    return timezone.now() > moment


def _broker_depth(queue: str) -> int:
    from django.conf import settings

    with Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        try:
            return conn.default_channel.queue_declare(queue, passive=True).message_count
        except ChannelError:  # Redis keeps no empty list: a queue never used or drained is "not found"
            return 0


def test_tenant_b_is_booked_at_once_while_tenant_a_waits_for_its_exact_window(celery_worker, world, exact_sandbox):
    a, b = world["a"], world["b"]
    installation_reconcile(installation=a, trigger=SyncAttempt.Trigger.RECONCILE)  # A's catch-up
    waiting, reset_a = _a_wait_with_room(a)

    invoice = world["new"]()
    invoice_enqueue(installation=b, eduframe_invoice_id=invoice["id"], trigger=SyncAttempt.Trigger.WEBHOOK)
    booked_b = wait_for(
        lambda: InvoiceRecord.objects.filter(
            installation=b, eduframe_invoice_id=invoice["id"], state=State.BOOKED
        ).first(),
        timeout=30,
        what="tenant B's invoice to be booked",
    )
    # A worker sleeping on A's budget would start B's booking only after A's reset. Compared by the start of B's
    # booking, not its end or a fixed number of seconds: on a loaded 2-core machine the booking itself (eight
    # calls) may outlast the room left before A's reset, which says nothing about a sleeping worker.
    started_b = SyncAttempt.objects.get(invoice=booked_b, outcome=SyncAttempt.Outcome.CREATED).started_at
    assert started_b < reset_a, "B waited for A's window: a worker slept on A's budget"
    assert not InvoiceRecord.objects.filter(installation=b).exclude(pk=booked_b.pk).exists()
    # A was still waiting when B was booked: its waiting invoice, if booked by now, was booked after B.
    waiting.refresh_from_db()
    assert waiting.state == State.PENDING or waiting.booked_at > booked_b.booked_at

    # A's backlog is booked as its windows allow: each invoice exactly once, and never a 429.
    wait_for(
        beat_then(lambda: InvoiceRecord.objects.filter(installation=a, state=State.BOOKED).count() == BACKLOG),
        timeout=4 * WINDOW_SECONDS + 30,
        interval=2,
        what="tenant A's backlog to be booked",
    )
    snapshot = exact_sandbox.state.snapshot()["divisions"]
    refs = [entry["YourRef"] for entry in snapshot[str(DIVISION_A)]["entries"]]
    assert sorted(refs) == sorted(invoice["number"] for invoice in world["backlog"])
    assert [r for r in exact_sandbox.state.request_log if r["status"] == 429] == []


def test_a_catch_up_keeps_the_broker_shallow_and_reconciling_again_queues_nothing_twice(
    celery_worker, world, exact_sandbox, settings
):
    a = world["a"]
    depths = []
    wait_for(lambda: _broker_depth(celery_worker.queue) == 0, what="an empty queue before the catch-up")
    for _ in range(3):  # beat's reconciliation, run again while the catch-up waits for its window
        installation_reconcile(installation=a, trigger=SyncAttempt.Trigger.RECONCILE)
        depths.append(_broker_depth(celery_worker.queue))
        in_flight = InvoiceRecord.objects.filter(installation=a, queued_at__isnull=False).count()
        assert in_flight <= settings.SYNC_TASKS_PER_TENANT
    # Its one task and at most one wake-up, where a task per invoice per reconciliation would be 3 x BACKLOG.
    assert max(depths) <= settings.SYNC_TASKS_PER_TENANT + 1
    wait_for(
        beat_then(lambda: InvoiceRecord.objects.filter(installation=a, state=State.BOOKED).count() == BACKLOG),
        timeout=4 * WINDOW_SECONDS + 30,
        interval=2,
        what="tenant A's backlog to be booked",
    )
    created = SyncAttempt.objects.filter(invoice__installation=a, outcome=SyncAttempt.Outcome.CREATED)
    assert created.count() == BACKLOG  # each invoice booked once, whatever asked for it how often
    assert len(exact_sandbox.state.snapshot()["divisions"][str(DIVISION_A)]["entries"]) == BACKLOG
