"""Exact's 5,000 calls a day per division are shared by every worker process (notes 4.1, 6.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact_budget import budget_claim
from sync.errors import RetryableError

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
