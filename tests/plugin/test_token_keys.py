"""TOKEN_ENCRYPTION_KEY: several keys (the first encrypts, all decrypt), re-encryption, old tokens, a lost key."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.urls import reverse

from plugin.crypto import derive_key
from plugin.models import ExactConnection, Installation
from sync.models import WebhookEvent
from tests.factories import ExactConnectionFactory, InstallationFactory
from tests.plugin.stored_tokens import opens, raw_column

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_every_key_decrypts_and_the_first_encrypts(settings):
    settings.TOKEN_ENCRYPTION_KEY = OLD
    installation = InstallationFactory(eduframe_access_token="secret-token")
    settings.TOKEN_ENCRYPTION_KEY = f"{NEW}, {OLD}"
    assert Installation.objects.get(pk=installation.pk).eduframe_access_token == "secret-token"
    installation.eduframe_refresh_token = "refresh-token"
    installation.save()
    assert opens(NEW, raw_column("plugin_installation", "eduframe_refresh_token", installation.pk))
    assert not opens(OLD, raw_column("plugin_installation", "eduframe_refresh_token", installation.pk))


def test_the_command_reencrypts_every_token_with_the_first_key(settings):
    settings.TOKEN_ENCRYPTION_KEY = OLD
    connection = ExactConnectionFactory(access_token="a-token", refresh_token="r-token")
    settings.TOKEN_ENCRYPTION_KEY = f"{NEW},{OLD}"
    call_command("reencrypt_tokens")
    for table, column, pk in [
        ("plugin_exactconnection", "access_token", connection.pk),
        ("plugin_exactconnection", "refresh_token", connection.pk),
        ("plugin_installation", "eduframe_access_token", connection.installation_id),
    ]:
        assert opens(NEW, raw_column(table, column, pk)), column
    settings.TOKEN_ENCRYPTION_KEY = NEW  # the old key dropped: everything still reads
    stored = ExactConnection.objects.select_related("installation").get()
    assert (stored.access_token, stored.refresh_token) == ("a-token", "r-token")
    assert stored.installation.eduframe_access_token == "demo-token"


def test_the_command_names_tokens_no_key_opens_and_leaves_them_as_they_are(settings):
    settings.TOKEN_ENCRYPTION_KEY = OLD
    installation = InstallationFactory()
    before = raw_column("plugin_installation", "eduframe_access_token", installation.pk)
    settings.TOKEN_ENCRYPTION_KEY = NEW
    with pytest.raises(CommandError, match="1 token"):
        call_command("reencrypt_tokens")
    assert raw_column("plugin_installation", "eduframe_access_token", installation.pk) == before


def test_a_token_written_by_the_earlier_passphrase_scheme_still_decrypts(settings):
    """Before key rotation a passphrase was stretched with one unsalted SHA-256: those rows must still open."""
    passphrase = "an existing installation's passphrase"
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()))
    installation = InstallationFactory()
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE plugin_installation SET eduframe_access_token = %s WHERE id = %s",
            [legacy.encrypt(b"legacy-token").decode(), installation.pk],
        )
    settings.TOKEN_ENCRYPTION_KEY = passphrase
    assert Installation.objects.get(pk=installation.pk).eduframe_access_token == "legacy-token"


def test_a_passphrase_is_stretched_with_a_salted_kdf_not_one_sha256(settings):
    settings.TOKEN_ENCRYPTION_KEY = "correct horse battery staple"
    installation = InstallationFactory(eduframe_access_token="t")
    cipher = raw_column("plugin_installation", "eduframe_access_token", installation.pk)
    legacy = base64.urlsafe_b64encode(hashlib.sha256(b"correct horse battery staple").digest()).decode()
    assert not opens(legacy, cipher)
    assert opens(derive_key("correct horse battery staple").decode(), cipher)


def test_the_key_command_prints_a_usable_key(capsys, settings):
    call_command("generate_encryption_key")
    key = capsys.readouterr().out.strip()
    Fernet(key.encode())  # a valid key, or this raises
    settings.TOKEN_ENCRYPTION_KEY = key
    assert InstallationFactory(eduframe_access_token="x").eduframe_access_token == "x"
    assert Installation.objects.get().eduframe_access_token == "x"


@pytest.fixture
def lost_key(settings, client):
    """An installation connected to Exact whose tokens were written with a key that is no longer configured."""
    settings.TOKEN_ENCRYPTION_KEY = OLD
    connection = ExactConnectionFactory(installation__educator_slug="demo-academy")
    settings.TOKEN_ENCRYPTION_KEY = NEW
    session = client.session
    session["installation_id"] = connection.installation_id
    session.save()
    return connection.installation


def test_a_token_no_key_opens_shows_reconnect_needed_instead_of_500(client, lost_key):
    response = client.get("/settings/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Exact Online needs to be reconnected" in page
    assert "Reconnect needed: the stored connection cannot be decrypted" in page
    assert "Reconnect needed:</strong> the stored Eduframe credentials cannot be decrypted" in page
    connection = ExactConnection.objects.get()
    assert connection.tokens_unreadable
    assert not connection.is_usable


def test_webhooks_are_still_stored_when_no_key_opens_the_tokens(client, lost_key):
    url = reverse("eduframe-webhook", args=[lost_key.pk, lost_key.webhook_secret])
    body = {"educator": "demo-academy", "event": "invoice.created", "entity_type": "Invoice", "entity_id": 7}
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202
    assert WebhookEvent.objects.get().entity_id == 7


def test_saving_a_row_keeps_a_token_no_keyopens(settings, lost_key):
    before = raw_column("plugin_installation", "eduframe_access_token", lost_key.pk)
    installation = Installation.objects.get(pk=lost_key.pk)
    installation.educator_name = "Renamed"
    installation.save()
    assert raw_column("plugin_installation", "eduframe_access_token", lost_key.pk) == before
    settings.TOKEN_ENCRYPTION_KEY = f"{NEW},{OLD}"  # the key restored: the token opens again
    assert Installation.objects.get(pk=lost_key.pk).eduframe_access_token == "demo-token"


@pytest.mark.parametrize("url", ["/settings/security/", "/settings/log/", "/settings/audit/"])
def test_the_other_pages_open_too_when_no_key_opens_the_tokens(client, lost_key, url):
    response = client.get(url)
    assert response.status_code == 200
