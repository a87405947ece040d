"""Exact Online OAuth: the token endpoint's quirks and how its failures map onto our errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sync.errors import AmbiguousError, AuthError, RetryableError
from sync.exact import oauth
from tests.sync.clients.conftest import form, token_answer

BASE = "https://start.exactonline.nl"


def _refresh(router):
    return oauth.refresh(base_url=BASE, refresh_token="r-1", transport=router.transport)


def test_it_builds_the_authorization_url(exact_settings):
    url = oauth.authorization_url(base_url=BASE, redirect_uri="https://app.example/exact/callback", state="s-1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/api/oauth2/auth"
    assert parse_qs(parts.query) == {
        "client_id": ["client-1"],
        "redirect_uri": ["https://app.example/exact/callback"],
        "response_type": ["code"],
        "state": ["s-1"],
    }


def test_it_posts_a_form_encoded_refresh_with_the_client_credentials(exact_settings, router):
    router.add("POST", "/api/oauth2/token", token_answer())
    _refresh(router)
    request = router.requests[0]
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert form(request) == {
        "grant_type": "refresh_token",
        "refresh_token": "r-1",
        "client_id": "client-1",
        "client_secret": "secret-1",
    }


def test_it_exchanges_a_code_with_the_redirect_uri(exact_settings, router):
    router.add("POST", "/api/oauth2/token", token_answer())
    oauth.exchange_code(base_url=BASE, code="c-1", redirect_uri="https://app/cb", transport=router.transport)
    sent = form(router.requests[0])
    assert (sent["grant_type"], sent["code"], sent["redirect_uri"]) == ("authorization_code", "c-1", "https://app/cb")


def test_it_reads_expires_in_sent_as_a_string(exact_settings, router):
    router.add("POST", "/api/oauth2/token", token_answer("a-2", "r-2"))
    token_set = _refresh(router)
    assert (token_set.access_token, token_set.refresh_token, token_set.expires_in) == ("a-2", "r-2", 600)
    assert (token_set.expires_at - token_set.issued_at).total_seconds() == 600


def test_it_never_shows_tokens_in_its_repr(exact_settings, router):
    router.add("POST", "/api/oauth2/token", token_answer("secret-access", "secret-refresh"))
    assert "secret" not in repr(_refresh(router))


def test_an_old_refresh_token_is_an_auth_error(exact_settings, router):
    body = {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    router.add("POST", "/api/oauth2/token", httpx.Response(401, json=body))
    with pytest.raises(AuthError) as caught:
        _refresh(router)
    assert "Old refresh token used." in caught.value.message


def test_an_invalid_grant_is_an_auth_error(exact_settings, router):
    router.add("POST", "/api/oauth2/token", httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(AuthError):
        _refresh(router)


def test_a_too_early_refresh_is_retryable(exact_settings, router):
    body = {"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"}
    headers = {"Reason": "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"}
    router.add("POST", "/api/oauth2/token", httpx.Response(400, json=body, headers=headers))
    with pytest.raises(RetryableError) as caught:
        _refresh(router)
    assert not isinstance(caught.value, AuthError | AmbiguousError)


def test_a_lost_token_response_raises_ambiguous_error(exact_settings, router):
    def drop(request):
        raise httpx.ReadTimeout("lost", request=request)

    router.add("POST", "/api/oauth2/token", drop)
    with pytest.raises(AmbiguousError):
        _refresh(router)


def test_a_gateway_fault_on_the_token_endpoint_is_ambiguous(exact_settings, router):
    fault = {"fault": {"faultstring": "Failed to execute the ExtractVariables: ExtractAccessToken"}}
    router.add("POST", "/api/oauth2/token", httpx.Response(500, json=fault))
    with pytest.raises(AmbiguousError):
        _refresh(router)


def test_an_unreachable_token_endpoint_is_retryable_but_not_ambiguous(exact_settings, router):
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    router.add("POST", "/api/oauth2/token", refuse)
    with pytest.raises(RetryableError) as caught:
        _refresh(router)
    assert not isinstance(caught.value, AmbiguousError)
