"""Exact's 5,000 calls a day per division are shared by every worker process (notes 4.1, 6.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact_budget import budget_claim
from sync.errors import WAIT_EXACT_MINUTE, DeferredError, RetryableError

pytestmark = pytest.mark.django_db


def _connection(world) -> ExactConnection:
    return ExactConnection.objects.get(installation=world.installation)


def test_processes_sending_at_once_never_spend_the_same_last_daily_calls(world):
    connection = _connection(world)
    reset = timezone.now() + timedelta(hours=3)
    ExactConnection.objects.filter(pk=connection.pk).update(daily_remaining=2, daily_reset_at=reset)
    # Three processes about to send, none has an answer yet: only two calls are left today.
    budget_claim(connection)
    budget_claim(connection)
    with pytest.raises(RetryableError) as caught:
        budget_claim(connection)
    assert caught.value.retry_after > 3 * 3600 - 60


def test_a_claim_counts_down_both_open_windows_in_one_statement(world, django_assert_num_queries):
    connection = _connection(world)
    reset = timezone.now() + timedelta(seconds=40)
    ExactConnection.objects.filter(pk=connection.pk).update(
        daily_remaining=100, daily_reset_at=reset + timedelta(hours=5), minutely_remaining=7, minutely_reset_at=reset
    )
    with django_assert_num_queries(1):
        budget_claim(connection)
    row = ExactConnection.objects.values("daily_remaining", "minutely_remaining").get(pk=connection.pk)
    assert row == {"daily_remaining": 99, "minutely_remaining": 6}


def test_a_spent_minute_defers_to_its_reset_and_takes_nothing_from_the_day(world):
    connection = _connection(world)
    reset = timezone.now() + timedelta(seconds=40)
    ExactConnection.objects.filter(pk=connection.pk).update(
        daily_remaining=100, daily_reset_at=reset + timedelta(hours=5), minutely_remaining=0, minutely_reset_at=reset
    )
    with pytest.raises(DeferredError) as caught:
        budget_claim(connection)
    assert (caught.value.waiting_for, caught.value.not_before) == (WAIT_EXACT_MINUTE, reset)
    assert ExactConnection.objects.get(pk=connection.pk).daily_remaining == 100


def test_a_window_that_is_over_neither_blocks_nor_is_counted_down(world):
    connection = _connection(world)
    over = timezone.now() - timedelta(seconds=1)
    ExactConnection.objects.filter(pk=connection.pk).update(
        daily_remaining=None, daily_reset_at=None, minutely_remaining=0, minutely_reset_at=over
    )
    budget_claim(connection)
    row = ExactConnection.objects.values("daily_remaining", "minutely_remaining").get(pk=connection.pk)
    assert row == {"daily_remaining": None, "minutely_remaining": 0}
