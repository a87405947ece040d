"""The Security page and the audit log: sign-ins, signing out (here and everywhere), replacing the sync's
Eduframe credentials, rotating the webhook secret, and who changed what."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from plugin.models import AdminSession, AuditEntry, Installation
from sandbox.eduframe.auth import ALL_SCOPES
from sync.models import WebhookEvent
from tests.plugin.conftest import DIVISION

pytestmark = pytest.mark.django_db
INSTALL = "/install/?educator=demo-academy"


def _signed_in(token: str = "demo-token") -> Client:
    """A browser that went through the install flow with an Eduframe API token."""
    browser = Client()
    response = browser.post(INSTALL, {"token": token})
    assert response.status_code == 302, response.content
    return browser


@pytest.fixture
def first(eduframe_sandbox, settings):
    settings.EDUFRAME_CLIENT_ID = None
    return _signed_in()


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.parametrize(
    "url",
    ["/settings/security/", "/settings/audit/"],
)
def test_the_new_pages_need_a_signed_in_browser(client, url):
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/settings/sign-out",
        "/settings/security/sign-out-everywhere",
        "/settings/security/eduframe-credentials",
        "/settings/security/webhook-secret",
    ],
)
def test_the_new_actions_need_a_signed_in_browser(client, url):
    assert client.post(url).status_code == 403


def test_the_security_page_lists_each_signed_in_browser(first, eduframe_sandbox):
    second = _signed_in()
    page = first.get("/settings/security/").content.decode()
    rows = AdminSession.objects.order_by("id")
    assert rows.count() == 2
    for row in rows:
        assert f"#{row.pk} · API token" in page
    assert page.count("(this browser)") == 1
    assert second.get("/settings/security/").status_code == 200


def test_sign_out_ends_this_browsers_session_only(first, eduframe_sandbox):
    second = _signed_in()
    response = first.post("/settings/sign-out")
    assert "This browser is signed out of EduExact." in response.content.decode()
    assert first.get("/settings/").status_code == 403
    assert second.get("/settings/").status_code == 200
    assert AdminSession.objects.count() == 1


def test_sign_out_everywhere_ends_every_session(first, eduframe_sandbox, client):
    second = _signed_in()
    # A browser bound before sign-ins were recorded (no record, no epoch) is signed out too.
    legacy = client.session
    legacy["installation_id"] = Installation.objects.get().pk
    legacy.save()
    response = first.post("/settings/security/sign-out-everywhere")
    assert "Every browser is signed out" in response.content.decode()
    for browser in (first, second, client):
        assert browser.get("/settings/").status_code == 403
    assert not AdminSession.objects.exists()
    assert "Signed out everywhere" in _actions()
    # Signing in again afterwards works.
    assert _signed_in().get("/settings/").status_code == 200


def test_credentials_are_replaced_only_by_the_explicit_action(first, eduframe_sandbox):
    eduframe_sandbox.state.add_token("second-token", ALL_SCOPES)
    Installation.objects.update(eduframe_auth_error="Eduframe refused the token.")
    response = first.post("/settings/security/eduframe-credentials", {"token": "second-token"})
    assert response.status_code == 302
    installation = Installation.objects.get()
    assert installation.eduframe_access_token == "second-token"
    assert installation.eduframe_auth_error == ""
    entry = AuditEntry.objects.get(action="Eduframe credentials replaced")
    assert entry.actor.startswith("sign-in #")
    assert "API token" in entry.actor


def test_credentials_of_another_tenant_are_refused(first, eduframe_sandbox):
    Installation.objects.update(eduframe_tenant_id="another-tenant")
    response = first.post("/settings/security/eduframe-credentials", {"token": "demo-token"})
    assert response.status_code == 400
    assert "belongs to another Eduframe tenant" in response.content.decode()
    assert "Eduframe credentials replaced" not in _actions()


def test_credentials_missing_a_scope_are_refused(first, eduframe_sandbox):
    eduframe_sandbox.state.add_token("weak-token", [s for s in ALL_SCOPES if s != "invoices:read"])
    response = first.post("/settings/security/eduframe-credentials", {"token": "weak-token"})
    assert "The token lacks invoices:read" in response.content.decode()
    assert Installation.objects.get().eduframe_access_token == "demo-token"


def test_credentials_are_replaced_through_eduframe_oauth_when_configured(first, eduframe_sandbox, settings):
    settings.EDUFRAME_CLIENT_ID, settings.EDUFRAME_CLIENT_SECRET = "eduexact-eduframe", "sandbox-secret"
    settings.PUBLIC_URL = "http://localhost:8000"
    start = first.post("/settings/security/eduframe-credentials")
    authorize = start["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    answer = httpx.post(authorize.split("?")[0], data={**query, "decision": "approve"}, timeout=5)
    back = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    response = first.get("/install/callback", back)
    assert response["Location"] == "/settings/security/"
    installation = Installation.objects.get()
    assert installation.eduframe_auth == "oauth"
    assert installation.eduframe_refresh_token
    assert "Eduframe credentials replaced" in _actions()


def test_rotating_the_webhook_secret_registers_the_new_url_and_removes_the_old(first, eduframe_sandbox):
    before = Installation.objects.get()
    first.post("/settings/security/webhook-secret")
    after = Installation.objects.get()
    assert after.webhook_secret != before.webhook_secret
    hooks = list(eduframe_sandbox.state.webhooks.values())
    assert len(hooks) == 1
    assert hooks[0]["url"].endswith(f"/webhooks/eduframe/{after.pk}/{after.webhook_secret}")
    assert after.eduframe_webhook_id == str(hooks[0]["id"])
    body = {"educator": "demo-academy", "event": "payment.created", "entity_id": 1}
    old = reverse("eduframe-webhook", args=[after.pk, before.webhook_secret])
    new = reverse("eduframe-webhook", args=[after.pk, after.webhook_secret])
    assert first.post(old, body, content_type="application/json").status_code == 404
    assert first.post(new, body, content_type="application/json").status_code == 202
    assert WebhookEvent.objects.count() == 1
    assert "Webhook secret rotated" in _actions()


def test_a_failed_registration_keeps_the_old_secret(first, eduframe_sandbox):
    before = Installation.objects.get().webhook_secret
    eduframe_sandbox.state.inject_fault("POST /webhooks", "500", count=10)
    response = first.post("/settings/security/webhook-secret", follow=True)
    assert "could not be registered" in response.content.decode()
    assert Installation.objects.get().webhook_secret == before
    assert len(eduframe_sandbox.state.webhooks) == 1


# --- the audit log: settings, overrides, VAT mapping, connection --------------------------------------------


def test_each_change_is_in_the_audit_log_with_who_and_when(admin, installation, connected, eduframe_world):
    values = {"division": DIVISION, "sync_from": (date.today() - timedelta(days=7)).isoformat()}
    values |= {"ledger_code": "8010", "journal_code": "70", "discount_ledger_code": ""}
    assert admin.post("/settings/", values).status_code == 302
    course = next(c for c in eduframe_world.state.tables["courses"].values())
    admin.post(f"/settings/courses/{course['id']}/", {"ledger_code": "8010", "cost_center": "", "cost_unit": ""})
    high = eduframe_world.vats["high"]["id"]
    admin.post("/settings/vat/", {f"vat_{high}": "2"})
    admin.post("/settings/exact/disconnect")
    entries = {e.action: e for e in AuditEntry.objects.filter(installation=installation)}
    assert "Ledger code: 8000 → 8010" in entries["Settings saved"].summary
    assert "Ledger code: (empty) → 8010" in entries["Course template overrides saved"].summary
    assert "→ 2" in entries["VAT mapping saved"].summary
    assert "Exact Online disconnected" in entries
    page = admin.get("/settings/audit/").content.decode()
    for action in entries:
        assert action in page
    assert all(entry.at for entry in entries.values())
    assert all(entry.actor for entry in entries.values())


def test_the_audit_log_shows_only_this_installations_entries(admin, installation, other_installation):
    AuditEntry.objects.create(installation=other_installation, actor="someone", action="Secret of another tenant")
    AuditEntry.objects.create(installation=installation, actor="someone", action="Settings saved")
    page = admin.get("/settings/audit/").content.decode()
    assert "Settings saved" in page
    assert "Secret of another tenant" not in page


def test_last_seen_is_noted_at_most_once_a_minute(first, eduframe_sandbox):
    from django.utils import timezone

    row = AdminSession.objects.get()
    AdminSession.objects.update(last_seen_at=timezone.now() - timedelta(minutes=5))
    first.get("/settings/security/")
    seen = AdminSession.objects.get().last_seen_at
    assert timezone.now() - seen < timedelta(seconds=10)
    first.get("/settings/security/")
    assert AdminSession.objects.get(pk=row.pk).last_seen_at == seen
