"""Connecting Exact Online: authorize, callback (simulator auto-approve), division choice, disconnect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connection as db

from plugin.models import ExactConnection, GlobalSettings
from tests.factories import InvoiceRecordFactory
from tests.plugin.conftest import DIVISION

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_URL = "http://localhost:8000"


def _authorize(admin) -> str:
    response = admin.post("/settings/exact/connect")
    assert response.status_code == 302
    return response["Location"]


def _callback_query(authorize_url: str) -> dict:
    """Follow the authorize URL on the simulator (auto-approve) and return our callback's query."""
    answer = httpx.get(authorize_url, follow_redirects=False, timeout=5)
    location = answer.headers["location"]
    assert location.startswith("http://localhost:8000/exact/callback?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _connect(admin) -> None:
    response = admin.get("/exact/callback", _callback_query(_authorize(admin)))
    assert response.status_code == 302, response.content


def test_it_asks_for_the_region_when_no_exact_base_url_is_set(admin, settings):
    settings.EXACT_BASE_URL = None
    page = admin.get("/settings/exact/connect").content.decode()
    assert '<label for="id_region">Exact Online country</label>' in page
    response = admin.post("/settings/exact/connect", {"region": "be"})
    assert response["Location"].startswith("https://start.exactonline.be/api/oauth2/auth?")


def test_it_redirects_to_exact_with_state_and_redirect_uri(admin, exact_world):
    url = _authorize(admin)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{exact_world.url}/api/oauth2/auth?")
    assert query["redirect_uri"] == ["http://localhost:8000/exact/callback"]
    assert query["state"] == [admin.session["exact_oauth"]["state"]]


def test_it_connects_with_the_simulators_approval(admin, installation, exact_world):
    response = admin.get("/exact/callback", _callback_query(_authorize(admin)))
    assert response.status_code == 302
    assert response["Location"] == "/settings/exact/division"
    connection = ExactConnection.objects.get(installation=installation)
    assert connection.status == "connected"
    assert connection.exact_user_name == "Demo Accountant"
    assert connection.refresh_token
    assert connection.tokens_issued_at
    assert GlobalSettings.objects.get(installation=installation).division == DIVISION


def test_it_stores_the_exact_tokens_encrypted(admin, installation, exact_world):
    _connect(admin)
    plain = ExactConnection.objects.get().access_token
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM plugin_exactconnection")
        stored = cursor.fetchone()
    assert plain not in stored[0]


def test_it_handles_wrong_state(admin, exact_world):
    query = _callback_query(_authorize(admin))
    response = admin.get("/exact/callback", {**query, "state": "forged"})
    assert response.status_code == 403
    assert not ExactConnection.objects.exists()


def test_it_forgets_the_state_after_one_use(admin, exact_world):
    query = _callback_query(_authorize(admin))
    admin.get("/exact/callback", query)
    assert admin.get("/exact/callback", query).status_code == 403


def test_it_handles_access_denied(admin, exact_world):
    state = parse_qs(urlsplit(_authorize(admin)).query)["state"][0]
    response = admin.get("/exact/callback", {"error": "access_denied", "state": state}, follow=True)
    assert "You did not allow EduExact to use Exact Online" in response.content.decode()
    assert not ExactConnection.objects.exists()


def test_it_needs_a_code(admin, exact_world):
    state = parse_qs(urlsplit(_authorize(admin)).query)["state"][0]
    assert admin.get("/exact/callback", {"state": state}).status_code == 400


def test_it_lists_the_divisions_of_the_user(admin, connected):
    page = admin.get("/settings/exact/division").content.decode()
    assert f'<option value="{DIVISION}" selected>{DIVISION} – Demo Academy B.V.</option>' in page


def test_it_saves_a_reachable_division(admin, installation, connected):
    response = admin.post("/settings/exact/division", {"division": DIVISION})
    assert response.status_code == 302
    row = GlobalSettings.objects.get(installation=installation)
    assert row.division_name == "Demo Academy B.V."


def test_it_refuses_a_division_the_user_cannot_reach(admin, installation, connected, exact_world):
    exact_world.state.seed_division(7654321, "Someone Else B.V.")
    user = exact_world.state.default_user()
    user.divisions.remove(7654321)
    response = admin.post("/settings/exact/division", {"division": 7654321})
    assert "has no access to division 7654321" in response.content.decode()
    assert GlobalSettings.objects.get(installation=installation).division == DIVISION


def test_it_disconnects(admin, installation, connected):
    response = admin.post("/settings/exact/disconnect", follow=True)
    connection = ExactConnection.objects.get()
    assert connection.status == "disconnected"
    assert connection.access_token == ""
    assert connection.refresh_token == ""
    assert "Exact Online is disconnected" in response.content.decode()


def test_it_offers_reconnect_when_the_connection_needs_it(admin, connected):
    ExactConnection.objects.update(status="needs_reconnect")
    page = admin.get("/settings/").content.decode()
    assert "Reconnect Exact Online" in page
    assert "The sync is paused" in page
    assert "nothing is lost" in page


def test_reconnecting_retries_the_invoices_that_waited(
    admin, installation, connected, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("sync.tasks.sync_invoice_task.delay", lambda *args, **kwargs: None)
    ExactConnection.objects.update(status="needs_reconnect")
    record = InvoiceRecordFactory(installation=installation, state="pending", error_kind="auth")
    with django_capture_on_commit_callbacks(execute=True):
        _connect(admin)
    record.refresh_from_db()
    assert record.error_kind == ""
    assert ExactConnection.objects.get().status == "connected"


def test_the_callback_needs_a_session(client, exact_world):
    assert client.get("/exact/callback", {"code": "x", "state": "y"}).status_code == 403


def test_connect_needs_csrf(installation, exact_world):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    session = browser.session
    session["installation_id"] = installation.pk
    session.save()
    assert browser.post("/settings/exact/connect").status_code == 403


def test_it_refuses_a_division_that_is_not_a_number(admin, installation, connected):
    page = admin.post("/settings/exact/division", {"division": "abc"}).content.decode()
    assert "&#x27;abc&#x27; is not a division code." in page
