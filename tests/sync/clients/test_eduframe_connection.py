"""The stored side of an installation's Eduframe access under the client: refusals recorded, OAuth refreshes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from plugin.models import Installation
from sync.connections.eduframe import eduframe_client
from sync.eduframe.client import EduframeClient
from sync.errors import AuthError
from tests.sync.clients.conftest import eduframe_error as _error


def _client(installation, router) -> EduframeClient:
    return eduframe_client(installation, transport=router.transport)


def test_a_401_is_an_auth_error_recorded_on_the_installation(installation, router):
    router.add("GET", "/api/v1/invoices/7", _error(401, "Invalid access token"))
    with pytest.raises(AuthError) as caught:
        _client(installation, router).get_invoice(7)
    assert "Eduframe refused the API token" in caught.value.message
    assert Installation.objects.get(pk=installation.pk).eduframe_auth_error == caught.value.message


def test_a_401_for_an_oauth_installation_asks_to_allow_access_again_not_for_a_token(installation, router):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.save()
    router.add("GET", "/api/v1/invoices/7", _error(401, "Invalid access token"))
    with pytest.raises(AuthError) as caught:
        _client(installation, router).get_invoice(7)
    assert "open the plugin from Eduframe" in caught.value.message
    assert "token" not in caught.value.message


def test_it_refreshes_an_expiring_oauth_token_first(installation, router):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.eduframe_refresh_token = "ef-refresh"
    installation.eduframe_token_expires_at = timezone.now() + timedelta(seconds=10)
    installation.save()
    token = {"access_token": "ef-new", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "ef-refresh-2"}
    router.add("POST", "/login/oauth2/token", httpx.Response(200, json=token))
    router.add(
        "GET", "/api/v1/educators/current", httpx.Response(200, json={"id": 1, "slug": "demo-academy", "name": "Demo"})
    )
    educator = _client(installation, router).current_educator()
    assert educator.slug == "demo-academy"
    assert router.requests[-1].headers["authorization"] == "Bearer ef-new"
    stored = Installation.objects.get(pk=installation.pk)
    assert (stored.eduframe_access_token, stored.eduframe_refresh_token) == ("ef-new", "ef-refresh-2")


def test_a_refused_eduframe_refresh_is_recorded(installation, router):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.eduframe_refresh_token = "ef-refresh"
    installation.eduframe_token_expires_at = timezone.now() - timedelta(seconds=10)
    installation.save()
    router.add("POST", "/login/oauth2/token", httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(AuthError):
        _client(installation, router).current_educator()
    assert Installation.objects.get(pk=installation.pk).eduframe_auth_error


def _oauth_installation(installation, *, expires_in: int = 3600):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.eduframe_access_token = "ef-old"
    installation.eduframe_refresh_token = "ef-refresh"
    installation.eduframe_token_expires_at = timezone.now() + timedelta(seconds=expires_in)
    installation.save()
    return installation


def _current_educator(request: httpx.Request) -> httpx.Response:
    if request.headers["authorization"] != "Bearer ef-new":
        return httpx.Response(401, json={"message": "The access token expired"})
    return httpx.Response(200, json={"id": 1, "slug": "demo-academy", "name": "Demo"})


def test_an_oauth_token_eduframe_refuses_before_its_expiry_by_our_clock_is_renewed_once(installation, router):
    _oauth_installation(installation)  # an hour left by our clock; Eduframe's clock says it expired
    token = {"access_token": "ef-new", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "ef-refresh-2"}
    router.add("POST", "/login/oauth2/token", httpx.Response(200, json=token))
    router.add("GET", "/api/v1/educators/current", _current_educator)
    assert _client(installation, router).current_educator().slug == "demo-academy"
    assert router.paths() == ["/api/v1/educators/current", "/login/oauth2/token", "/api/v1/educators/current"]
    assert b"grant_type=refresh_token" in router.requests[1].content
    stored = Installation.objects.get(pk=installation.pk)
    assert (stored.eduframe_access_token, stored.eduframe_refresh_token) == ("ef-new", "ef-refresh-2")
    assert stored.eduframe_auth_error == ""


def test_a_token_another_worker_renewed_meanwhile_is_used_without_a_second_refresh(installation, router):
    _oauth_installation(installation)
    client = _client(installation, router)  # holds the old token in memory
    Installation.objects.filter(pk=installation.pk).update(eduframe_access_token="ef-new")
    router.add("GET", "/api/v1/educators/current", _current_educator)
    assert client.current_educator().slug == "demo-academy"
    assert "/login/oauth2/token" not in router.paths()


def test_an_oauth_token_refused_again_after_renewal_is_an_auth_error(installation, router):
    _oauth_installation(installation)
    token = {"access_token": "ef-newer", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "ef-refresh-2"}
    router.add("POST", "/login/oauth2/token", httpx.Response(200, json=token))
    router.add("GET", "/api/v1/educators/current", _error(401))
    with pytest.raises(AuthError):
        _client(installation, router).current_educator()
    assert router.paths().count("/login/oauth2/token") == 1
    assert Installation.objects.get(pk=installation.pk).eduframe_auth_error
