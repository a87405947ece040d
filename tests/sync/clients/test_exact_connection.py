"""The database side of an Exact connection under the client: shared budget, stored rate limits, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact import exact_client, exact_client_for
from sync.errors import WAIT_EXACT_DAY, AuthError, DeferredError, RetryableError
from sync.exact.client import ExactClient
from tests.factories import InstallationFactory
from tests.sync.clients.conftest import odata, token_answer

DIV = 1234567


def _client(connection, router) -> ExactClient:
    return exact_client(connection, transport=router.transport)


def _epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def test_it_stores_the_rate_limit_headers_on_the_connection(connection, router):
    reset = datetime.now(UTC) + timedelta(seconds=40)
    headers = {
        "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4973", "X-RateLimit-Reset": _epoch_ms(reset),
        "X-RateLimit-Minutely-Limit": "60", "X-RateLimit-Minutely-Remaining": "57",
        "X-RateLimit-Minutely-Reset": _epoch_ms(reset),
    }  # fmt: skip
    router.add(
        "GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(200, json={"d": {"results": []}}, headers=headers)
    )
    _client(connection, router).journals(DIV)
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert (stored.daily_limit, stored.daily_remaining, stored.minutely_remaining) == (5000, 4973, 57)
    assert abs((stored.minutely_reset_at - reset).total_seconds()) < 0.01
    assert stored.last_success_at is not None


def test_a_spent_minute_defers_the_call_to_the_stored_reset_without_sending_it(connection, router):
    connection.minutely_remaining = 0
    connection.minutely_reset_at = timezone.now() + timedelta(seconds=20)
    connection.save()
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata())
    with pytest.raises(DeferredError) as caught:
        _client(connection, router).journals(DIV)
    assert caught.value.not_before == connection.minutely_reset_at
    assert router.requests == []


def test_two_clients_share_one_minutely_budget(connection, router):
    connection.minutely_remaining = 1
    connection.minutely_reset_at = timezone.now() + timedelta(seconds=20)
    connection.save()
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata())
    first, second = _client(connection, router), _client(ExactConnection.objects.get(pk=connection.pk), router)
    first.journals(DIV)
    with pytest.raises(DeferredError):
        second.journals(DIV)  # the first took the last call of the minute
    assert len(router.requests) == 1


def test_it_refuses_when_the_daily_budget_is_used_up(connection, router):
    connection.daily_remaining = 0
    connection.daily_reset_at = timezone.now() + timedelta(hours=3)
    connection.save()
    with pytest.raises(DeferredError) as caught:
        _client(connection, router).journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_DAY
    assert 10790 <= caught.value.retry_after <= 10800
    assert router.requests == []


@pytest.mark.parametrize(
    ("remaining", "reset_in", "fits"),
    [(3, 20, True), (2, 20, False), (0, -1, True), (None, None, True)],
    ids=["enough", "too-few", "window-over", "unknown"],
)
def test_a_booking_starts_only_when_the_known_budget_holds_all_its_calls(connection, router, remaining, reset_in, fits):
    connection.minutely_remaining = remaining
    connection.minutely_reset_at = None if reset_in is None else timezone.now() + timedelta(seconds=reset_in)
    connection.save()
    client = _client(connection, router)
    if fits:
        client.budget_fits(3)
    else:
        with pytest.raises(DeferredError) as caught:
            client.budget_fits(3)
        assert caught.value.not_before == connection.minutely_reset_at
    assert router.requests == []


def test_it_retries_once_after_a_401_with_a_refreshed_token(connection, router):
    connection.tokens_issued_at = timezone.now() - timedelta(seconds=580)
    connection.save()
    router.add("POST", "/api/oauth2/token", token_answer("a-2", "r-2"))
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", [httpx.Response(401), odata()])
    client = _client(connection, router)
    assert client.journals(DIV) == []
    auths = [r.headers.get("authorization") for r in router.requests if "Journals" in r.url.path]
    assert auths == ["Bearer stored-access", "Bearer a-2"]
    assert client.calls_made == 2


def test_a_refreshed_token_refused_too_waits_for_the_next_token_and_does_not_disconnect(connection, router):
    connection.tokens_issued_at = timezone.now() - timedelta(seconds=580)
    connection.save()
    router.add("POST", "/api/oauth2/token", token_answer("a-2", "r-2"))
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(401))
    with pytest.raises(RetryableError) as refused:
        _client(connection, router).journals(DIV)
    assert 560 <= refused.value.retry_after <= 570
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert stored.status == ExactConnection.Status.CONNECTED
    assert stored.access_token == "a-2"
    assert stored.access_expires_at <= timezone.now()  # forgotten: no other process sends it again


def test_for_installation_without_a_connection_raises_auth_error(db):
    with pytest.raises(AuthError) as caught:
        exact_client_for(InstallationFactory())
    assert "connect Exact Online" in caught.value.message
