"""The Exact access token: refreshed in Exact's window, once at a time, and the connection marked when refused."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.db import connections
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact_tokens import RECONNECT_MESSAGE, access_token_for, store_new_tokens
from sync.errors import AuthError, RetryableError
from sync.exact import oauth
from tests.sync.clients.conftest import age_tokens, form, token_answer

OLD_TOKEN = httpx.Response(401, json={"error": "unauthorized_client", "error_description": "Old refresh token used."})


def test_it_uses_the_stored_token_while_a_minute_is_left(connection, router):
    age_tokens(connection, 539)
    assert access_token_for(connection, transport=router.transport) == "stored-access"
    assert router.requests == []


def test_it_does_not_refresh_within_570_seconds(connection, router):
    age_tokens(connection, 560)  # 40 s left: Exact would refuse a refresh, the token still works
    assert access_token_for(connection, transport=router.transport) == "stored-access"
    assert router.requests == []


def test_it_refreshes_after_570_seconds_and_saves_the_new_pair(connection, router):
    age_tokens(connection, 575)
    router.add("POST", "/api/oauth2/token", token_answer("a-2", "r-2"))
    assert access_token_for(connection, transport=router.transport) == "a-2"
    assert form(router.requests[0])["refresh_token"] == "stored-refresh"
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == ("a-2", "r-2")
    assert 599 <= (stored.access_expires_at - stored.tokens_issued_at).total_seconds() <= 600


def test_a_rejected_token_within_570_seconds_is_retried_later(connection, router):
    age_tokens(connection, 100)
    with pytest.raises(RetryableError) as caught:
        access_token_for(connection, rejected_token="stored-access", transport=router.transport)
    assert 460 <= caught.value.retry_after <= 470
    assert router.requests == []


def test_it_rereads_the_tokens_inside_the_lock(connection, router):
    age_tokens(connection, 590)  # this process still holds the old, expiring pair
    now = timezone.now()
    ExactConnection.objects.filter(pk=connection.pk).update(
        access_expires_at=now + timedelta(seconds=600), tokens_issued_at=now
    )
    other = ExactConnection.objects.get(pk=connection.pk)
    other.access_token = "fresher"
    other.save()
    assert access_token_for(connection, transport=router.transport) == "fresher"
    assert router.requests == []


def test_a_refused_refresh_marks_the_connection_needs_reconnect(connection, router):
    age_tokens(connection, 700)
    router.add("POST", "/api/oauth2/token", OLD_TOKEN)
    with pytest.raises(AuthError) as caught:
        access_token_for(connection, transport=router.transport)
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert stored.status == ExactConnection.Status.NEEDS_RECONNECT
    assert stored.last_error == RECONNECT_MESSAGE == caught.value.message


def test_a_lost_refresh_answer_is_retried_once_with_the_stored_token(connection, router):
    age_tokens(connection, 700)

    def lost(request):
        raise httpx.ReadTimeout("lost", request=request)

    router.add("POST", "/api/oauth2/token", [lost, token_answer("a-3", "r-3")])
    assert access_token_for(connection, transport=router.transport) == "a-3"
    assert [form(r)["refresh_token"] for r in router.requests] == ["stored-refresh", "stored-refresh"]


def test_a_lost_refresh_answer_that_rotated_the_token_needs_reconnect(connection, router):
    age_tokens(connection, 700)

    def lost(request):
        raise httpx.RemoteProtocolError("dropped", request=request)

    router.add("POST", "/api/oauth2/token", [lost, OLD_TOKEN])
    with pytest.raises(AuthError):
        access_token_for(connection, transport=router.transport)
    assert ExactConnection.objects.get(pk=connection.pk).status == ExactConnection.Status.NEEDS_RECONNECT


def test_a_connection_that_needs_reconnecting_is_not_refreshed(connection, router):
    age_tokens(connection, 700)
    ExactConnection.objects.filter(pk=connection.pk).update(status=ExactConnection.Status.NEEDS_RECONNECT)
    with pytest.raises(AuthError):
        access_token_for(connection, transport=router.transport)
    assert router.requests == []


def test_store_new_tokens_reconnects_and_keeps_the_user(connection):
    from sync.exact.entities import ExactMe

    connection.status = ExactConnection.Status.NEEDS_RECONNECT
    token_set = oauth.TokenSet("a-4", "r-4", 600, connection.tokens_issued_at)
    store_new_tokens(connection, token_set, me=ExactMe("u-1", "Ann Admin", "ann@example.com", 7))
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert (stored.status, stored.access_token, stored.exact_user_name) == ("connected", "a-4", "Ann Admin")


@pytest.mark.django_db(transaction=True)
def test_two_processes_refresh_only_once(exact_settings):
    from tests.factories import ExactConnectionFactory

    conn = ExactConnectionFactory(access_token="old", refresh_token="stored-refresh")
    age_tokens(conn, 700)
    calls = []

    def slow_token(request):
        calls.append(form(request)["refresh_token"])
        time.sleep(0.3)  # both workers are inside access_token_for by now
        return token_answer("a-new", "r-new")

    transport = httpx.MockTransport(slow_token)
    results, errors = [], []

    def worker():
        try:
            results.append(access_token_for(ExactConnection.objects.get(pk=conn.pk), transport=transport))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert calls == ["stored-refresh"]
    assert results == ["a-new", "a-new"]
