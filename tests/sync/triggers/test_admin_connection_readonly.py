"""The operators' admin cannot point a connection at another host or another installation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from plugin.models import ExactConnection
from tests.factories import InstallationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_base_url_and_the_installation_are_not_editable(staff_client, installation):
    connection = installation.exact_connection
    other = InstallationFactory()
    url = reverse("admin:plugin_exactconnection_change", args=[connection.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="base_url"' not in page
    assert 'name="installation"' not in page
    assert connection.base_url in page  # still shown, read-only
    staff_client.post(url, {"base_url": "https://attacker.example", "installation": other.pk, "status": "connected"})
    connection.refresh_from_db()
    assert connection.base_url == "https://start.exactonline.nl"
    assert connection.installation_id == installation.pk


def test_a_connection_cannot_be_typed_in(staff_client, installation):
    assert staff_client.get(reverse("admin:plugin_exactconnection_add")).status_code == 403
    assert ExactConnection.objects.count() == 1


def test_operators_read_the_audit_log_but_cannot_change_it(staff_client, installation):
    from plugin.models import AuditEntry

    entry = AuditEntry.objects.create(installation=installation, actor="sign-in #1", action="Settings saved")
    assert b"Settings saved" in staff_client.get(reverse("admin:plugin_auditentry_changelist")).content
    staff_client.post(reverse("admin:plugin_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
