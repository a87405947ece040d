"""The install flow with a pasted Eduframe API token, against the Eduframe simulator."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db
from django.test import Client

from plugin.models import AdminSession, AuditEntry, Installation
from sandbox.eduframe.auth import ALL_SCOPES

URL = "/install/?educator=demo-academy"
pytestmark = pytest.mark.django_db


def _install(client, token="demo-token", url=URL):
    return client.post(url, {"token": token})


def test_it_answers_400_without_an_educator(client):
    response = client.get("/install/")
    assert response.status_code == 400
    assert "open EduExact from Eduframe" in response.content.decode()


def test_it_shows_the_token_form_with_a_real_label(client, settings):
    settings.EDUFRAME_CLIENT_ID = None
    response = client.get(URL)
    assert response.status_code == 200
    assert '<label for="id_token">Eduframe API token</label>' in response.content.decode()


def test_it_refuses_a_token_of_another_educator(client, eduframe_sandbox):
    response = _install(client, url="/install/?educator=other-academy")
    assert "This token belongs to demo-academy, not other-academy." in response.content.decode()
    assert not Installation.objects.exists()


def test_it_refuses_a_token_without_invoices_read(client, eduframe_sandbox):
    eduframe_sandbox.state.add_token("weak-token", [s for s in ALL_SCOPES if s != "invoices:read"])
    response = _install(client, token="weak-token")
    assert "The token lacks invoices:read: the sync cannot read invoices." in response.content.decode()
    assert not Installation.objects.exists()


def test_it_names_every_missing_scope(client, eduframe_sandbox):
    scopes = [s for s in ALL_SCOPES if s not in ("courses:read", "relations:read")]
    eduframe_sandbox.state.add_token("weak-token", scopes)
    page = _install(client, token="weak-token").content.decode()
    assert "The token lacks courses:read: the plugin cannot read course templates and editions." in page
    assert "The token lacks relations:read: the sync cannot read the accounts the invoices are addressed to." in page


def test_it_refuses_a_token_that_cannot_register_the_webhook(client, eduframe_sandbox):
    eduframe_sandbox.state.add_token("weak-token", [s for s in ALL_SCOPES if s != "settings:modify"])
    page = _install(client, token="weak-token").content.decode()
    assert "The token lacks settings:modify: the plugin cannot register its webhook" in page
    assert not Installation.objects.exists()


def test_it_refuses_an_unknown_token(client, eduframe_sandbox):
    response = _install(client, token="not-a-token")
    assert "Eduframe refused this token" in response.content.decode()
    assert not Installation.objects.exists()


def test_it_creates_the_installation_and_forwards_the_browser_to_exact(client, eduframe_sandbox, exact_sandbox):
    response = _install(client)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{exact_sandbox.url}/api/oauth2/auth"
    query = parse_qs(location.query)
    assert query["redirect_uri"] == ["http://localhost:8000/exact/callback"]
    assert query["state"] == [client.session["exact_oauth"]["state"]]
    installation = Installation.objects.get()
    assert installation.educator_slug == "demo-academy"
    assert installation.educator_name == "Demo Academy"
    assert client.session["installation_id"] == installation.pk


def test_without_exact_base_url_it_asks_for_the_region_on_its_own_page_first(client, eduframe_sandbox, settings):
    settings.EXACT_BASE_URL = None
    response = _install(client)
    assert response.status_code == 302
    assert response["Location"] == "/settings/exact/connect"


def test_it_registers_the_webhook_once(client, eduframe_sandbox):
    _install(client)
    _install(client)
    installation = Installation.objects.get()
    hooks = list(eduframe_sandbox.state.webhooks.values())
    assert len(hooks) == 1
    assert hooks[0]["url"].endswith(f"/webhooks/eduframe/{installation.pk}/{installation.webhook_secret}")
    assert set(hooks[0]["events"]) == {"invoice.created", "invoice.updated", "invoice.deleted"}
    assert installation.eduframe_webhook_id == str(hooks[0]["id"])


def test_a_second_install_only_signs_in_and_leaves_the_syncs_credentials_alone(client, eduframe_sandbox):
    _install(client)
    eduframe_sandbox.state.add_token("another-admins-token", ALL_SCOPES)
    Installation.objects.update(eduframe_auth_error="refused")
    second = Client()
    response = _install(second, token="another-admins-token")
    assert response.status_code == 302
    installation = Installation.objects.get()
    assert second.session["installation_id"] == installation.pk
    assert installation.eduframe_access_token == "demo-token"  # not replaced by signing in
    assert installation.eduframe_auth_error == "refused"  # only replacing the credentials clears it
    assert AdminSession.objects.filter(installation=installation).count() == 2
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["Installed", "Signed in"]


def test_an_installation_an_operator_deactivated_stays_deactivated(client, eduframe_sandbox):
    _install(client)
    Installation.objects.update(is_active=False)
    response = _install(Client())
    assert "deactivated by an operator" in response.content.decode()
    assert not Installation.objects.get().is_active


@pytest.mark.parametrize(
    ("field", "stored"), [("eduframe_educator_id", 999_999), ("eduframe_tenant_id", "other-tenant")]
)
def test_a_sign_in_with_another_educator_or_tenant_id_is_refused(client, eduframe_sandbox, field, stored):
    """Same slug, other tenant: e.g. an educator that was renamed and its slug reused."""
    _install(client)
    Installation.objects.update(**{field: stored})
    stranger = Client()
    response = _install(stranger)
    assert "belongs to another Eduframe tenant" in response.content.decode()
    assert "installation_id" not in stranger.session


NOT_A_TOKEN = "This is not an Eduframe API token"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("demo token", NOT_A_TOKEN),
        ("démo-token", NOT_A_TOKEN),
        ("demo\r\nX-Injected: 1", NOT_A_TOKEN),
        ("\u202edemo-token", NOT_A_TOKEN),
        ("x" * 5000, NOT_A_TOKEN),
        ("demo-token\x00", "Null characters are not allowed."),
    ],
)
def test_a_token_with_odd_characters_gets_a_clear_message(client, eduframe_sandbox, token, message):
    response = _install(client, token=token)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Installation.objects.exists()


def test_spaces_and_line_breaks_around_a_pasted_token_are_ignored(client, eduframe_sandbox):
    assert _install(client, token="  demo-token\n").status_code == 302
    assert Installation.objects.get().eduframe_access_token == "demo-token"


def test_it_rotates_the_session_key_on_binding(client, eduframe_sandbox):
    client.get(URL)
    before = client.session.session_key
    _install(client)
    assert client.session.session_key != before


def test_it_stores_the_token_encrypted(client, eduframe_sandbox):
    _install(client)
    with db.cursor() as cursor:
        cursor.execute("SELECT eduframe_access_token FROM plugin_installation")
        (stored,) = cursor.fetchone()
    assert "demo-token" not in stored
    assert Installation.objects.get().eduframe_access_token == "demo-token"


def test_it_never_shows_the_token_on_a_page(client, eduframe_sandbox):
    response = _install(client, url="/install/?educator=other-academy")
    assert "demo-token" not in response.content.decode()
