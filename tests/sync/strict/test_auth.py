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


def _lose_division(world, status: int = 401) -> None:
    """The Exact user loses the division; Exact's answer is 403 "Wrong Division" (the sandbox's default)
    or 401 (its switch), which these tests mostly exercise: a 401 invites a refresh."""
    world.exact.foreign_division_status = status
    world.exact.default_user().divisions.remove(DIVISION)


def _age_tokens(world, seconds: int) -> None:
    issued = timezone.now() - timedelta(seconds=seconds)
    ExactConnection.objects.filter(installation=world.installation).update(
        tokens_issued_at=issued, access_expires_at=issued + timedelta(seconds=600)
    )


def test_a_wrong_division_403_pauses_the_sync_at_once_without_a_refresh_and_says_what_to_fix(world):
    _lose_division(world, status=403)
    first = world.invoice([world.item()])
    world.sync(first)
    record = world.record(first)
    record.refresh_from_db()
    assert (record.state, record.error_kind) == ("pending", "auth")
    connection = ExactConnection.objects.get(installation=world.installation)
    assert connection.status == ExactConnection.Status.NEEDS_RECONNECT
    assert "Wrong Division" in connection.last_error
    assert "access to the division" in connection.last_error
    before = len(world.exact_requests())
    world.sync(world.invoice([world.item()]))
    assert len(world.exact_requests()) == before
    assert [r["status"] for r in world.exact_requests()].count(403) == 1
    assert not [r for r in world.exact.request_log if r["endpoint"] == "oauth2/token"]


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
