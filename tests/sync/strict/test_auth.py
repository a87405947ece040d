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


def test_a_brand_new_token_refused_does_not_disconnect_and_later_bookings_call_nothing(world):
    _lose_division(world)
    first = world.invoice([world.item()])
    world.sync(first)
    record = world.record(first)
    record.refresh_from_db()
    assert (record.state, record.error_kind) == ("pending", "retryable")
    assert "refused the access token" in record.reason
    assert record.next_retry_at >= timezone.now() + timedelta(seconds=500)  # when Exact allows the next token
    connection = ExactConnection.objects.get(installation=world.installation)
    assert connection.status == ExactConnection.Status.CONNECTED
    before = len(world.exact_requests())
    world.sync(world.invoice([world.item()]))
    assert len(world.exact_requests()) == before
    assert len(_refused(world)) == 1


def _connection(world) -> ExactConnection:
    return ExactConnection.objects.get(installation=world.installation)


def test_a_401_refreshes_the_token_as_soon_as_exact_allows_it_then_the_booking_goes_through(world):
    _age_tokens(world, 100)
    world.exact.tokens.access.pop(_connection(world).access_token)  # Exact dropped the token early
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    assert (record.state, record.error_kind) == ("pending", "retryable")
    assert _connection(world).status == ExactConnection.Status.CONNECTED
    # Once Exact allows the refresh (570 s after the last token), the next try refreshes and books.
    world.exact.clock.advance(580)
    _age_tokens(world, 580)
    old_refresh = _connection(world).refresh_token
    world.sync(invoice)
    record.refresh_from_db()
    assert record.state == "booked", record.reason
    assert _connection(world).refresh_token != old_refresh
    assert len(_refused(world)) == 1


def test_only_a_refused_refresh_token_disconnects(world):
    _age_tokens(world, 100)
    connection = _connection(world)
    world.exact.tokens.access.pop(connection.access_token)
    world.exact.clock.advance(580)
    # Someone else used our refresh token (a copy of the database): Exact refuses it as "Old refresh token used."
    world.exact.tokens.refresh(
        world.exact.tokens.grants[next(iter(world.exact.tokens.grants))].client_id,
        connection.refresh_token,
        world.exact.clock.now(),
    )
    _age_tokens(world, 580)
    invoice = world.invoice([world.item()])
    world.sync(invoice)
    record = world.record(invoice)
    record.refresh_from_db()
    assert (record.state, record.error_kind) == ("pending", "auth")
    assert _connection(world).status == ExactConnection.Status.NEEDS_RECONNECT


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
