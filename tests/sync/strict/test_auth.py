"""A refused access token is never sent again blindly: 401s count toward Exact's 10 errors an hour (notes 4.1, 6.5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from tests.sync.booking.conftest import DIVISION

pytestmark = pytest.mark.django_db


def _refused(world) -> list[dict]:
    return [r for r in world.exact_requests() if r["status"] == 401]


def _lose_division(world) -> None:
    world.exact.default_user().divisions.remove(DIVISION)


def _age_tokens(world, seconds: int) -> None:
    issued = timezone.now() - timedelta(seconds=seconds)
    ExactConnection.objects.filter(installation=world.installation).update(
        tokens_issued_at=issued, access_expires_at=issued + timedelta(seconds=600)
    )


def test_a_brand_new_token_refused_asks_for_a_reconnect_and_later_bookings_call_nothing(world):
    _lose_division(world)
    first = world.invoice([world.item()])
    world.sync(first)
    record = world.record(first)
    record.refresh_from_db()
    assert (record.state, record.error_kind) == ("pending", "auth")
    connection = ExactConnection.objects.get(installation=world.installation)
    assert connection.status == ExactConnection.Status.NEEDS_RECONNECT
    before = len(world.exact_requests())
    world.sync(world.invoice([world.item()]))
    assert len(world.exact_requests()) == before
    assert len(_refused(world)) == 1


def test_a_refused_token_is_not_sent_again_by_the_next_bookings_before_the_refresh_is_allowed(world):
    _age_tokens(world, 100)
    _lose_division(world)
    invoices = [world.invoice([world.item()]) for _ in range(3)]
    for invoice in invoices:
        world.sync(invoice)
    assert len(_refused(world)) == 1
    states = set()
    for invoice in invoices:
        record = world.record(invoice)
        record.refresh_from_db()
        states.add((record.state, record.error_kind))
    assert states == {("pending", "retryable")}
