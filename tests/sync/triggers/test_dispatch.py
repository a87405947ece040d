"""The dispatcher: one task per invoice, a bounded broker, round-robin tenants, budgets respected, no sleeping."""

from __future__ import annotations

import itertools
from datetime import timedelta
from unittest.mock import patch
from uuid import uuid4

import pytest
from django.utils import timezone

from plugin.models import ExactConnection, Installation
from sync.errors import WAIT_EXACT_MINUTE, DeferredError
from sync.models import AccountLink, InvoiceRecord, TenantQueue
from sync.services.invoice_dispatch import invoice_task_finished, invoice_task_started, invoices_dispatch
from sync.services.invoice_queue import invoice_enqueue, invoices_mark_due
from tests.factories import ExactConnectionFactory, InstallationFactory, InvoiceRecordFactory

from .conftest import sent_record_ids

State, Priority, WaitingFor = InvoiceRecord.State, InvoiceRecord.Priority, InvoiceRecord.WaitingFor


@pytest.fixture
def limits(settings):
    settings.SYNC_TASKS_PER_TENANT = 1
    settings.SYNC_TASKS_IN_FLIGHT = 4
    return settings


_customers = itertools.count(9000)


def _due(installation, minutes: float = 0, **fields):
    """A due record of a customer of its own, not in Exact yet (as reconciliation lists it), unless told."""
    fields.setdefault("eduframe_account_id", next(_customers))
    when = timezone.now() + timedelta(minutes=minutes)
    return InvoiceRecordFactory(installation=installation, state=State.PENDING, due_at=when, **fields)


def _dispatch(capture, **kwargs) -> int:
    with capture(execute=True):
        return invoices_dispatch(**kwargs)


def _tenant():
    tenant = InstallationFactory()
    ExactConnectionFactory(installation=tenant, status=ExactConnection.Status.CONNECTED)
    return tenant


def test_a_due_invoice_is_sent_once_with_the_trigger_that_asked_and_not_again_while_queued(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    record = _due(installation, due_trigger="webhook")
    _due(installation, minutes=+5)  # not due yet
    assert _dispatch(django_capture_on_commit_callbacks) == 1
    assert _dispatch(django_capture_on_commit_callbacks) == 0
    sync_delay.assert_called_once_with(record.pk, "webhook")
    record.refresh_from_db()
    assert record.queued_at is not None


def test_asking_again_and_again_for_a_queued_invoice_never_makes_a_second_task(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for trigger in ("webhook", "webhook", "reconcile", "manual", "settings"):
            invoice_enqueue(installation=installation, eduframe_invoice_id=42, trigger=trigger)
    invoices_mark_due(InvoiceRecord.objects.all(), trigger="retry")
    _dispatch(django_capture_on_commit_callbacks)
    assert sync_delay.call_count == 1


def test_a_tenant_gets_its_share_of_slots_and_the_broker_holds_no_more_than_the_limit(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    for _ in range(50):
        _due(installation)
    others = [_tenant() for _ in range(6)]
    for tenant in others:
        _due(tenant)
    assert _dispatch(django_capture_on_commit_callbacks) == 4  # SYNC_TASKS_IN_FLIGHT
    assert InvoiceRecord.objects.filter(queued_at__isnull=False).count() == 4
    assert InvoiceRecord.objects.filter(installation=installation, queued_at__isnull=False).count() <= 1


def test_tenants_take_turns_the_one_served_longest_ago_first(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    limits.SYNC_TASKS_IN_FLIGHT = 1
    other = _tenant()
    mine, theirs = _due(installation), _due(other)
    TenantQueue.objects.create(installation=installation, last_dispatched_at=timezone.now())
    TenantQueue.objects.create(installation=other, last_dispatched_at=timezone.now() - timedelta(minutes=1))
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [theirs.pk]
    invoice_task_finished(record_id=theirs.pk, due_at_seen=theirs.due_at)
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [theirs.pk, mine.pk]


def test_the_end_of_a_catch_up_task_lets_another_tenants_new_invoice_in_before_its_own_next_one(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    limits.SYNC_TASKS_IN_FLIGHT = 1
    _due(installation, minutes=-10, priority=Priority.CATCH_UP)
    fresh = _due(_tenant(), priority=Priority.CHANGED)
    _dispatch(django_capture_on_commit_callbacks, installation_id=installation.pk)
    assert sent_record_ids(sync_delay) == [fresh.pk]


def test_new_and_changed_invoices_go_before_the_catch_up_of_the_same_tenant(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    catch_up = _due(installation, minutes=-10, priority=Priority.CATCH_UP)
    changed = _due(installation, minutes=0, priority=Priority.CHANGED)
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [changed.pk]
    assert catch_up.pk not in sent_record_ids(sync_delay)


def test_a_tenant_whose_minute_is_spent_gets_no_task_until_the_announced_reset(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    reset = timezone.now() + timedelta(seconds=6)
    ExactConnection.objects.filter(installation=installation).update(minutely_remaining=2, minutely_reset_at=reset)
    waiting = _due(installation)  # a new booking needs at least its document, attachment and entry
    other = _tenant()
    theirs = _due(other)
    _dispatch(django_capture_on_commit_callbacks)
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [theirs.pk]  # the other tenant is not held up
    waiting.refresh_from_db()
    assert (waiting.queued_at, waiting.waiting_for) == (None, WaitingFor.EXACT_MINUTE)
    assert TenantQueue.objects.get(installation=installation).wake_at == reset
    # The window Exact announced has passed: the next dispatch (a task's end, or beat) sends it.
    _time_passes_to(installation, timezone.now())
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [theirs.pk, waiting.pk]


def _time_passes_to(installation, moment) -> None:
    """As if the clock reached `moment`: the minute Exact announced, and the tenant's wait, end then."""
    ExactConnection.objects.filter(installation=installation).update(minutely_reset_at=moment)
    TenantQueue.objects.filter(installation=installation).update(wake_at=moment)


def test_a_waiting_tenant_is_passed_by_until_its_reset_unless_the_dispatch_is_about_it(
    installation, limits, sync_delay, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    reset = timezone.now() + timedelta(seconds=6)
    ExactConnection.objects.filter(installation=installation).update(minutely_remaining=2, minutely_reset_at=reset)
    waiting = _due(installation)
    _dispatch(django_capture_on_commit_callbacks)  # it learns to wait for the reset
    # Its own task ends meanwhile and freed what it had reserved: only then, or when a request about it comes
    # (a webhook, a retry), can it send before the reset; another tenant's task end does not look at it.
    ExactConnection.objects.filter(installation=installation).update(minutely_remaining=6)
    with django_assert_max_num_queries(2):  # the tasks in flight and the tenants in turn: no tenant's lock
        assert _dispatch(django_capture_on_commit_callbacks) == 0
    assert _dispatch(django_capture_on_commit_callbacks, installation_id=installation.pk) == 1
    assert sent_record_ids(sync_delay) == [waiting.pk]


def test_a_tenant_told_by_eduframe_to_slow_down_waits_for_the_retry_after(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    until = timezone.now() + timedelta(seconds=40)
    Installation.objects.filter(pk=installation.pk).update(eduframe_throttled_until=until)
    waiting = _due(installation)
    _dispatch(django_capture_on_commit_callbacks)
    sync_delay.assert_not_called()
    waiting.refresh_from_db()
    assert waiting.waiting_for == WaitingFor.EDUFRAME


def test_the_invoices_of_an_inactive_installation_are_not_sent(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    _due(installation)
    Installation.objects.filter(pk=installation.pk).update(is_active=False)
    assert _dispatch(django_capture_on_commit_callbacks) == 0


def test_an_invoice_waiting_for_a_reconnect_is_not_due(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    InvoiceRecordFactory(installation=installation, state=State.PENDING, error_kind="auth", due_at=None)
    assert _dispatch(django_capture_on_commit_callbacks) == 0


def test_a_lost_task_is_sent_again_once_nobody_holds_its_invoice(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    now = timezone.now()
    lost = _due(installation, queued_at=now - timedelta(minutes=3))  # purged broker: never claimed
    killed = _due(_tenant(), queued_at=now - timedelta(minutes=3), claimed_until=now - timedelta(seconds=1))
    _due(_tenant(), queued_at=now - timedelta(seconds=30))  # plausibly still in the broker
    _due(_tenant(), queued_at=now - timedelta(minutes=9), claimed_until=now + timedelta(minutes=1))  # running
    _dispatch(django_capture_on_commit_callbacks)
    assert sorted(sent_record_ids(sync_delay)) == sorted([lost.pk, killed.pk])


def test_a_deferred_booking_is_due_again_at_the_reset_and_frees_its_slot(installation, limits):
    record = _due(installation, queued_at=timezone.now())
    seen, _ = invoice_task_started(record_id=record.pk)
    reset = timezone.now() + timedelta(seconds=6)
    InvoiceRecord.objects.filter(pk=record.pk).update(next_retry_at=reset, waiting_for=WAIT_EXACT_MINUTE)
    invoice_task_finished(record_id=record.pk, due_at_seen=seen)
    record.refresh_from_db()
    assert (record.due_at, record.queued_at) == (reset, None)


def test_a_request_that_came_while_the_task_ran_keeps_the_invoice_due(installation, limits):
    record = _due(installation, minutes=-1, queued_at=timezone.now())
    seen, _ = invoice_task_started(record_id=record.pk)
    invoices_mark_due(InvoiceRecord.objects.filter(pk=record.pk), trigger="webhook")  # the invoice changed meanwhile
    InvoiceRecord.objects.filter(pk=record.pk).update(state=State.BOOKED)
    invoice_task_finished(record_id=record.pk, due_at_seen=seen)
    record.refresh_from_db()
    assert record.queued_at is None
    assert record.due_at is not None
    assert record.due_at > seen


def test_a_finished_booking_is_no_longer_due(installation, limits):
    record = _due(installation, queued_at=timezone.now())
    seen, _ = invoice_task_started(record_id=record.pk)
    InvoiceRecord.objects.filter(pk=record.pk).update(state=State.BOOKED)
    invoice_task_finished(record_id=record.pk, due_at_seen=seen)
    record.refresh_from_db()
    assert (record.due_at, record.queued_at) == (None, None)


def test_a_deferral_says_what_it_waits_for_and_carries_the_reset():
    reset = timezone.now() + timedelta(seconds=6)
    error = DeferredError("spent", not_before=reset, waiting_for=WAIT_EXACT_MINUTE)
    assert error.not_before == reset
    assert error.retry_after == 6.0


def test_a_tenants_new_invoice_goes_before_other_tenants_catch_up_when_slots_are_few(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    limits.SYNC_TASKS_IN_FLIGHT = 1
    catching_up = [_tenant() for _ in range(3)]
    for tenant in catching_up:
        _due(tenant, minutes=-5, priority=Priority.CATCH_UP)
    new = _due(installation, priority=Priority.CHANGED)
    TenantQueue.objects.create(installation=installation, last_dispatched_at=timezone.now())
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [new.pk]


def test_catch_up_tasks_go_to_the_broker_behind_webhooks_tasks(
    installation, limits, django_capture_on_commit_callbacks
):
    from sync import tasks
    from sync.services.invoice_dispatch import CATCH_UP_TASK_PRIORITY

    limits.SYNC_TASKS_PER_TENANT = 5
    catch_up = _due(installation, due_trigger="reconcile", priority=Priority.CATCH_UP)
    changed = _due(installation, due_trigger="webhook")
    with (
        patch.object(tasks.sync_invoice_task, "apply_async", autospec=True) as apply_async,
        patch.object(tasks.sync_invoice_task, "delay", autospec=True) as delay,
    ):
        _dispatch(django_capture_on_commit_callbacks)
    delay.assert_called_once_with(changed.pk, "webhook")
    apply_async.assert_called_once_with(args=(catch_up.pk, "reconcile"), priority=CATCH_UP_TASK_PRIORITY)


def test_a_retry_time_set_by_the_booking_survives_a_schedule_that_moved_meanwhile(installation, limits):
    record = _due(installation, queued_at=timezone.now())
    seen, _ = invoice_task_started(record_id=record.pk)
    reset = timezone.now() + timedelta(seconds=6)
    # A duplicate task, which found the invoice held, ended first and cleared the schedule.
    InvoiceRecord.objects.filter(pk=record.pk).update(due_at=None, next_retry_at=reset, waiting_for=WAIT_EXACT_MINUTE)
    invoice_task_finished(record_id=record.pk, due_at_seen=seen)
    record.refresh_from_db()
    assert record.due_at == reset


def _window_with(installation, calls: int) -> None:
    reset = timezone.now() + timedelta(seconds=6)
    ExactConnection.objects.filter(installation=installation).update(minutely_remaining=calls, minutely_reset_at=reset)


def test_bookings_sent_in_one_pass_share_the_window_and_are_not_all_sent_against_the_same_calls(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    limits.SYNC_TASKS_PER_TENANT = 3
    _window_with(installation, 8)  # a new customer's booking needs 5: one fits, not two
    first, second, third = (_due(installation, minutes=-3 + n) for n in range(3))
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [first.pk]
    second.refresh_from_db()
    assert (second.queued_at, second.waiting_for) == (None, WaitingFor.EXACT_MINUTE)


def test_a_task_in_flight_keeps_its_calls_from_the_next_booking_of_its_tenant(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    limits.SYNC_TASKS_PER_TENANT = 2
    _window_with(installation, 8)
    _due(installation, minutes=-1, queued_at=timezone.now(), reserved_calls=5)  # sent, not started: 5 calls to come
    waiting = _due(installation)
    other = _tenant()
    _window_with(other, 8)
    theirs = _due(other)
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [theirs.pk]
    waiting.refresh_from_db()
    assert waiting.waiting_for == WaitingFor.EXACT_MINUTE


def test_a_window_that_has_just_reset_holds_its_limit_not_every_booking_of_the_tenant(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    limits.SYNC_TASKS_PER_TENANT = 2
    past = timezone.now() - timedelta(seconds=1)  # the stored window is over: the next one holds 6 calls again
    ExactConnection.objects.filter(installation=installation).update(
        minutely_remaining=0, minutely_reset_at=past, minutely_limit=6
    )
    first, second = _due(installation, minutes=-1), _due(installation)
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [first.pk]  # 5 calls each: one booking, not two, in the new window
    second.refresh_from_db()
    assert second.queued_at is None


def test_a_webhooks_invoice_whose_customer_is_not_read_yet_is_sent_when_the_window_holds_three_calls(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    # Most invoices are a known customer's; the booking reads the account before any Exact call and waits
    # for the next window there if this one turns out to be new (see test_invoice_sync's budget tests).
    _window_with(installation, 3)
    unread = _due(installation, eduframe_account_id=None, due_trigger="webhook")
    new_customer = _due(_tenant(), eduframe_account_id=78)
    _window_with(new_customer.installation, 3)
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [unread.pk]


def test_a_known_customers_booking_is_sent_when_the_window_holds_its_three_calls(
    installation, limits, sync_delay, django_capture_on_commit_callbacks
):
    # Document, attachment and entry: a known customer's account costs nothing unless Eduframe changed it,
    # which the booking itself checks with the account's fields in hand.
    _window_with(installation, 3)
    known = _due(installation, eduframe_account_id=77)
    AccountLink.objects.create(installation=installation, eduframe_account_id=77, exact_account_id=uuid4())
    _dispatch(django_capture_on_commit_callbacks)
    assert sent_record_ids(sync_delay) == [known.pk]


def test_a_dispatch_that_sends_one_invoice_reads_the_tenant_under_its_lock_in_one_statement(
    installation, limits, sync_delay, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # It runs after every booking: the tasks in flight, the tenants in turn, then under the tenant's lock its
    # queue, budget and reserved calls (one statement), its line, the claim and its turn (and the transaction's
    # two statements). Each statement more is about a millisecond of a worker's time per booking.
    _due(installation)
    _dispatch(django_capture_on_commit_callbacks)  # the tenant's queue row is made on its first dispatch
    _due(installation)
    InvoiceRecord.objects.update(queued_at=None)
    with django_assert_max_num_queries(8):
        assert _dispatch(django_capture_on_commit_callbacks) == 1
