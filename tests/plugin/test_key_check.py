"""A process whose TOKEN_ENCRYPTION_KEY does not open the stored tokens: it says so at start, stores no tokens the
sync could not read, and the administrator's reconnect (the fix when the old key is lost) books the waiting
invoices at once. The Exact and Eduframe simulators answer over real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.test import Client
from django.utils import timezone

from plugin.models import ExactConnection, Installation
from sandbox.eduframe.auth import ALL_SCOPES
from sync.models import InvoiceRecord
from sync.worker_signals import tell_whether_the_key_opens_the_tokens
from tests.factories import ExactConnectionFactory, InvoiceRecordFactory
from tests.plugin.conftest import connect
from tests.plugin.stored_tokens import opens, raw_column
from tests.plugin.test_exact_connect import _authorize, _callback_query

pytestmark = pytest.mark.django_db

EXACT_WAITS = "Reconnect needed: the stored Exact Online connection cannot be decrypted with the configured key."
EDUFRAME_WAITS = "Reconnect needed: the stored Eduframe credentials cannot be decrypted with the configured key."


@pytest.fixture
def keys(settings):
    """The key the tokens are stored with (configured now), and another one a process may be started with."""
    settings.PUBLIC_URL = "http://localhost:8000"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEY = old
    return SimpleNamespace(old=old, new=new)


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """The records the dispatcher hands to the broker."""
    records: list[int] = []
    monkeypatch.setattr("sync.tasks.sync_invoice_task.delay", lambda record_id, trigger: records.append(record_id))
    return records


def _waiting(installation, reason: str) -> InvoiceRecord:
    """An invoice a worker parked because it could not decrypt a stored token (rechecked in 5 minutes)."""
    later = timezone.now() + timedelta(minutes=5)
    return InvoiceRecordFactory(
        installation=installation, state="pending", error_kind="auth", reason=reason, next_retry_at=later, due_at=later
    )


def _started_with(settings, key: str, browser: Client) -> None:
    """This web process starts with `key` and serves a page (reading the stored tokens with it)."""
    settings.TOKEN_ENCRYPTION_KEY = key
    assert browser.get("/settings/").status_code == 200


def test_the_system_check_names_the_variable_and_the_fix(keys, settings):
    ExactConnectionFactory()
    assert not [m for m in run_checks(databases=["default"]) if m.id == "plugin.W001"]
    settings.TOKEN_ENCRYPTION_KEY = keys.new
    [warning] = [m for m in run_checks(databases=["default"]) if m.id == "plugin.W001"]
    assert warning.msg.startswith("TOKEN_ENCRYPTION_KEY does not open 3 of the 3 stored token(s)")
    assert "put the old key after the new one (TOKEN_ENCRYPTION_KEY=<new>,<old>)" in warning.msg


def test_a_worker_with_a_wrong_key_says_so_at_start(keys, settings, caplog):
    ExactConnectionFactory()
    settings.TOKEN_ENCRYPTION_KEY = keys.new
    with caplog.at_level(logging.ERROR):
        tell_whether_the_key_opens_the_tokens()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith("Worker: TOKEN_ENCRYPTION_KEY does not open 3 of the 3 stored token(s)")


def test_a_web_with_a_wrong_key_does_not_replace_the_connection_the_sync_uses(
    keys, settings, admin, installation, exact_world, sent
):
    connection = connect(installation, exact_world)
    before = raw_column("plugin_exactconnection", "refresh_token", connection.pk)
    _started_with(settings, keys.new, admin)
    # A worker holding the right key books with the connection meanwhile.
    ExactConnection.objects.update(last_success_at=timezone.now())

    response = admin.get("/exact/callback", _callback_query(_authorize(admin)), follow=True)
    assert "Nothing was saved: this EduExact server runs with another encryption key than the sync" in (
        response.content.decode()
    )
    assert raw_column("plugin_exactconnection", "refresh_token", connection.pk) == before
    assert opens(keys.old, before)


def test_a_web_with_a_wrong_key_does_not_replace_eduframe_credentials_the_sync_uses(
    keys, settings, eduframe_sandbox, sent
):
    settings.EDUFRAME_CLIENT_ID = None
    browser = Client()
    assert browser.post("/install/?educator=demo-academy", {"token": "demo-token"}).status_code == 302
    installation = Installation.objects.get()
    ExactConnectionFactory(installation=installation)
    before = raw_column("plugin_installation", "eduframe_access_token", installation.pk)
    _started_with(settings, keys.new, browser)
    ExactConnection.objects.update(last_success_at=timezone.now())
    eduframe_sandbox.state.add_token("second-token", ALL_SCOPES)

    response = browser.post("/settings/security/eduframe-credentials", {"token": "second-token"}, follow=True)
    assert "Nothing was saved: this EduExact server runs with another encryption key" in response.content.decode()
    assert raw_column("plugin_installation", "eduframe_access_token", installation.pk) == before


def test_with_the_old_key_lost_reconnecting_exact_books_the_waiting_invoices_at_once(
    keys, settings, admin, installation, exact_world, sent, django_capture_on_commit_callbacks
):
    connection = connect(installation, exact_world)
    settings.TOKEN_ENCRYPTION_KEY = keys.new  # every process restarted with the new key: the old one is lost
    installation.eduframe_access_token = "demo-token"  # only the Exact connection is unreadable
    installation.save()
    record = _waiting(installation, EXACT_WAITS)
    assert ExactConnection.objects.get().tokens_unreadable

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.get("/exact/callback", _callback_query(_authorize(admin)))
    assert response.status_code == 302
    assert opens(keys.new, raw_column("plugin_exactconnection", "refresh_token", connection.pk))
    assert sent == [record.pk]
    record.refresh_from_db()
    assert record.due_at <= timezone.now()


def test_with_the_old_key_lost_new_eduframe_credentials_book_the_waiting_invoices_at_once(
    keys, settings, eduframe_sandbox, sent, django_capture_on_commit_callbacks
):
    settings.EDUFRAME_CLIENT_ID = None
    browser = Client()
    assert browser.post("/install/?educator=demo-academy", {"token": "demo-token"}).status_code == 302
    installation = Installation.objects.get()
    settings.TOKEN_ENCRYPTION_KEY = keys.new
    record = _waiting(installation, EDUFRAME_WAITS)
    eduframe_sandbox.state.add_token("second-token", ALL_SCOPES)

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/settings/security/eduframe-credentials", {"token": "second-token"})
    assert response.status_code == 302
    assert Installation.objects.get().eduframe_access_token == "second-token"
    assert sent == [record.pk]


KEY_DIFFERS = "This server's TOKEN_ENCRYPTION_KEY differs from the one the stored tokens were saved with."
OPERATOR_FIX = "The operator of EduExact must fix TOKEN_ENCRYPTION_KEY in this server"


def test_a_web_with_a_wrong_key_asks_the_operator_and_offers_no_reconnect_that_would_be_refused(
    keys, settings, admin, installation, exact_world
):
    connect(installation, exact_world)
    _started_with(settings, keys.new, admin)
    ExactConnection.objects.update(last_success_at=timezone.now())  # a worker with the right key books meanwhile

    for url in ("/settings/", "/settings/security/"):
        page = admin.get(url).content.decode()
        assert KEY_DIFFERS in page, url
        assert OPERATOR_FIX in page, url
        assert "Reconnect needed" not in page, url
        assert "Reconnect Exact Online" not in page, url
        assert "Replace the sync's Eduframe credentials" not in page, url
        assert 'action="/settings/security/eduframe-credentials"' not in page, url


def test_with_the_old_key_lost_the_pages_still_offer_the_reconnect(keys, settings, admin, installation, exact_world):
    connect(installation, exact_world)
    _started_with(settings, keys.new, admin)  # no process has read the stored tokens since: nobody holds the key

    settings_page = admin.get("/settings/").content.decode()
    assert "Reconnect needed" in settings_page
    assert "Reconnect Exact Online" in settings_page
    assert KEY_DIFFERS not in settings_page
    security_page = admin.get("/settings/security/").content.decode()
    assert "Reconnect needed" in security_page
    assert 'action="/settings/security/eduframe-credentials"' in security_page
