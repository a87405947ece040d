"""Exact's rate-limit headers are stored only where they tell what the shared budget's own count does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact import StoredBudget
from sync.connections.exact_budget import budget_claim

pytestmark = pytest.mark.django_db


def _budget(world, *, minutely: int, reset) -> StoredBudget:
    connection = ExactConnection.objects.get(installation=world.installation)
    ExactConnection.objects.filter(pk=connection.pk).update(
        minutely_limit=60, minutely_remaining=minutely, minutely_reset_at=reset, last_success_at=timezone.now()
    )
    return StoredBudget(connection)


def _headers(remaining: int, reset) -> dict:
    return {"minutely_limit": 60, "minutely_remaining": remaining, "minutely_reset_at": reset}


def _stored(budget: StoredBudget) -> int:
    return ExactConnection.objects.values_list("minutely_remaining", flat=True).get(pk=budget.connection.pk)


def test_an_answer_that_confirms_the_take_costs_no_statement(world, django_assert_num_queries):
    reset = (timezone.now() + timedelta(seconds=40)).replace(microsecond=0)
    budget = _budget(world, minutely=10, reset=reset)
    with django_assert_num_queries(1):  # the take only
        budget.claim()
        budget.limits_seen({**_headers(9, reset), "last_success_at": timezone.now()}, status=200)
    assert _stored(budget) == 9


def test_less_remaining_than_we_count_is_stored_at_once(world):
    reset = (timezone.now() + timedelta(seconds=40)).replace(microsecond=0)
    budget = _budget(world, minutely=10, reset=reset)
    budget.claim()
    budget.limits_seen(_headers(3, reset), status=200)  # another app spends the division's calls too
    assert _stored(budget) == 3


def test_a_new_window_is_stored_from_the_headers(world):
    reset = (timezone.now() + timedelta(seconds=2)).replace(microsecond=0)
    budget = _budget(world, minutely=10, reset=reset)
    budget.claim()
    later = reset + timedelta(seconds=6)  # a 6-second "minute": the reset comes from the headers, never 60 s
    budget.limits_seen(_headers(29, later), status=200)
    row = ExactConnection.objects.values("minutely_remaining", "minutely_reset_at").get(pk=budget.connection.pk)
    assert row == {"minutely_remaining": 29, "minutely_reset_at": later}


def test_a_429_is_stored_even_when_it_agrees_with_our_count(world):
    reset = (timezone.now() + timedelta(seconds=40)).replace(microsecond=0)
    budget = _budget(world, minutely=1, reset=reset)
    budget.claim()
    ExactConnection.objects.filter(pk=budget.connection.pk).update(minutely_remaining=5)  # a stale count
    budget.limits_seen(_headers(0, reset), status=429)
    assert _stored(budget) == 0


def test_a_stored_answer_keeps_the_calls_other_processes_took_meanwhile(world):
    reset = (timezone.now() + timedelta(seconds=40)).replace(microsecond=0)
    budget = _budget(world, minutely=10, reset=reset)
    budget.claim()  # leaves 9
    budget_claim(budget.connection)
    budget_claim(budget.connection)  # another process takes two more (7) and has not sent them yet
    budget.limits_seen(_headers(8, reset), status=200)  # Exact counted a call we did not (8 < 9)
    assert _stored(budget) == 7  # the lower of both: the other process's takes are not given back
    budget.claim()  # 6
    budget.limits_seen(_headers(7, reset), status=200)  # Exact counted fewer than we did: its word is stored
    assert _stored(budget) == 7
