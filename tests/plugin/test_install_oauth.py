"""The install flow with Eduframe OAuth (EDUFRAME_CLIENT_ID set), against the Eduframe simulator."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from plugin.models import Installation

pytestmark = pytest.mark.django_db


@pytest.fixture
def oauth_settings(settings, eduframe_sandbox):
    settings.EDUFRAME_CLIENT_ID = "eduexact-eduframe"
    settings.EDUFRAME_CLIENT_SECRET = "sandbox-secret"
    settings.PUBLIC_URL = "http://localhost:8000"
    return settings


def _start(client) -> str:
    response = client.get("/install/?educator=demo-academy")
    assert response.status_code == 302
    return response["Location"]


def _approve(authorize_url: str) -> dict:
    """Approve on the simulator's consent page; return the query our callback receives."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    base = authorize_url.split("?")[0]
    answer = httpx.post(base, data={**query, "decision": "approve"}, follow_redirects=False, timeout=5)
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def test_it_sends_the_administrator_to_eduframe(client, oauth_settings, eduframe_sandbox):
    url = _start(client)
    assert url.startswith(f"{eduframe_sandbox.url}/login/oauth2/auth?")
    assert "state=" in url
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Finstall%2Fcallback" in url


def test_it_installs_after_consent_and_forwards_the_browser_to_exact(
    client, oauth_settings, eduframe_sandbox, exact_sandbox
):
    answer = _approve(_start(client))
    response = client.get("/install/callback", answer)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{exact_sandbox.url}/api/oauth2/auth?")
    installation = Installation.objects.get()
    assert installation.eduframe_auth == "oauth"
    assert installation.eduframe_refresh_token
    assert client.session["installation_id"] == installation.pk


def test_it_handles_wrong_state(client, oauth_settings, eduframe_sandbox):
    answer = _approve(_start(client))
    response = client.get("/install/callback", {**answer, "state": "forged"})
    assert response.status_code == 403
    assert not Installation.objects.exists()


def test_it_handles_a_callback_without_a_flow_in_the_session(client, oauth_settings):
    response = client.get("/install/callback", {"code": "x", "state": "y"})
    assert response.status_code == 403


def test_it_handles_access_denied(client, oauth_settings, eduframe_sandbox):
    url = _start(client)
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = client.get("/install/callback", {"error": "access_denied", "state": state})
    assert response.status_code == 200
    assert "nothing was installed" in response.content.decode()
    assert not Installation.objects.exists()


def test_it_needs_a_code(client, oauth_settings, eduframe_sandbox):
    url = _start(client)
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert client.get("/install/callback", {"state": state}).status_code == 400


def test_the_callback_is_404_without_oauth_configured(client, settings):
    settings.EDUFRAME_CLIENT_ID = None
    assert client.get("/install/callback", {"code": "x", "state": "y"}).status_code == 404


def test_a_second_oauth_sign_in_keeps_the_syncs_tokens(client, oauth_settings, eduframe_sandbox):
    from django.test import Client

    client.get("/install/callback", _approve(_start(client)))
    stored = Installation.objects.get()
    other = Client()
    response = other.get("/install/callback", _approve(_start(other)))
    assert response.status_code == 302
    assert other.session["installation_id"] == stored.pk
    after = Installation.objects.get()
    assert (after.eduframe_access_token, after.eduframe_refresh_token) == (
        stored.eduframe_access_token,
        stored.eduframe_refresh_token,
    )


def test_an_oauth_sign_in_to_a_deactivated_installation_is_refused(client, oauth_settings, eduframe_sandbox):
    client.get("/install/callback", _approve(_start(client)))
    Installation.objects.update(is_active=False)
    from django.test import Client

    other = Client()
    response = other.get("/install/callback", _approve(_start(other)))
    assert response.status_code == 400
    assert "deactivated by an operator" in response.content.decode()
    assert not Installation.objects.get().is_active
