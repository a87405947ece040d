"""Incidents are told at once and once: a connection to reconnect, credentials refused, a lapsing token,
the day's budget spent while invoices wait; an incident that is over is closed and may be news again."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.core import mail
from django.utils import timezone

from monitoring import tasks
from monitoring.models import AlertIncident, AlertSettings
from monitoring.services.incidents import alert_incidents_check
from plugin.models import ExactConnection, Installation
from sync.connections.eduframe_tokens import mark_auth_error
from sync.connections.exact_tokens import connection_refused
from tests.factories import ExactConnectionFactory, InstallationFactory, InvoiceRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def installation(settings):
    settings.PUBLIC_URL = "https://eduexact.example"
    installation = InstallationFactory(educator_slug="demo-academy", educator_name="Demo Academy")
    AlertSettings.objects.create(installation=installation, emails="finance@demo.example")
    return installation


@pytest.fixture
def connection(installation):
    return ExactConnectionFactory(installation=installation, status=ExactConnection.Status.CONNECTED)


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_a_connection_to_reconnect_is_told_once_however_often_it_is_checked(installation, connection):
    InvoiceRecordFactory.create_batch(3, installation=installation, state="pending", error_kind="auth")
    connection.status, connection.last_error = ExactConnection.Status.NEEDS_RECONNECT, "Exact refused the token."
    connection.save()
    assert alert_incidents_check(installation=installation) == 1
    assert alert_incidents_check(installation=installation) == 0
    assert subjects() == ["[EduExact] Exact Online must be reconnected (Demo Academy)"]
    assert "Exact refused the token." in mail.outbox[0].body
    assert "https://eduexact.example/settings/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["finance@demo.example"]

    # Reconnected: the incident closes; broken again later: a new incident, a new mail.
    ExactConnection.objects.filter(pk=connection.pk).update(status=ExactConnection.Status.CONNECTED)
    assert alert_incidents_check(installation=installation) == 0
    assert AlertIncident.objects.get().resolved_at is not None
    ExactConnection.objects.filter(pk=connection.pk).update(status=ExactConnection.Status.NEEDS_RECONNECT)
    assert alert_incidents_check(installation=installation) == 1
    assert len(mail.outbox) == 2


def test_marking_the_connection_refused_queues_the_check_at_once(
    installation, connection, django_capture_on_commit_callbacks
):
    with patch.object(tasks.alert_incidents_check_task, "delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=True):
            connection_refused(connection, "Exact refused the connection.")
    delay.assert_called_once_with(installation.pk)


def test_eduframe_refusing_the_credentials_is_told_at_once(
    installation, connection, django_capture_on_commit_callbacks
):
    with patch.object(tasks.alert_incidents_check_task, "delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=True):
            mark_auth_error(installation, "Eduframe refused the API token; install the plugin again.")
    delay.assert_called_once_with(installation.pk)
    tasks.alert_incidents_check_task(installation.pk)
    tasks.alert_incidents_check_task(installation.pk)
    assert subjects() == ["[EduExact] Eduframe refuses EduExact's access (Demo Academy)"]
    assert "install the plugin again" in mail.outbox[0].body


def test_the_days_budget_spent_with_invoices_waiting_is_a_warning_once_a_day(installation, connection):
    reset = timezone.now() + timedelta(hours=5)
    ExactConnection.objects.filter(pk=connection.pk).update(daily_limit=5000, daily_remaining=0, daily_reset_at=reset)
    assert alert_incidents_check(installation=installation) == 0  # nothing waits: nothing to warn about
    InvoiceRecordFactory.create_batch(4, installation=installation, state="pending")
    assert alert_incidents_check(installation=installation) == 1
    assert alert_incidents_check(installation=installation) == 0
    assert subjects() == ["[EduExact] Exact Online's daily call limit is used up (Demo Academy)"]
    assert "used all of today's 5000 Exact Online calls" in mail.outbox[0].body
    assert "4 invoice(s) still wait" in mail.outbox[0].body

    # The next day's budget spent again is news again.
    later = timezone.now() + timedelta(days=1)
    ExactConnection.objects.filter(pk=connection.pk).update(
        daily_remaining=0, daily_reset_at=later + timedelta(hours=5)
    )
    assert alert_incidents_check(installation=installation, now=later) == 1
    assert len(mail.outbox) == 2


def test_a_refresh_token_about_to_lapse_is_a_warning(installation, connection):
    ExactConnection.objects.filter(pk=connection.pk).update(tokens_issued_at=timezone.now() - timedelta(days=10))
    assert alert_incidents_check(installation=installation) == 0
    ExactConnection.objects.filter(pk=connection.pk).update(tokens_issued_at=timezone.now() - timedelta(days=25))
    assert alert_incidents_check(installation=installation) == 1
    assert subjects() == ["[EduExact] Exact Online's connection is about to lapse (Demo Academy)"]


def test_without_an_alert_address_nothing_is_opened_and_an_address_given_later_hears_of_it(connection):
    installation = connection.installation
    ExactConnection.objects.filter(pk=connection.pk).update(status=ExactConnection.Status.NEEDS_RECONNECT)
    AlertSettings.objects.update_or_create(installation=installation, defaults={"emails": ""})
    assert alert_incidents_check(installation=installation) == 0
    assert not AlertIncident.objects.exists()
    AlertSettings.objects.filter(installation=installation).update(emails="it@demo.example")
    assert alert_incidents_check(installation=installation) == 1


def test_a_failed_delivery_is_tried_again(installation, connection, settings):
    ExactConnection.objects.filter(pk=connection.pk).update(status=ExactConnection.Status.NEEDS_RECONNECT)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    with pytest.raises(OSError):
        alert_incidents_check(installation=installation)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert alert_incidents_check(installation=installation) == 1


def test_the_beat_check_covers_every_active_installation(installation, connection):
    ExactConnection.objects.filter(pk=connection.pk).update(status=ExactConnection.Status.NEEDS_RECONNECT)
    gone = InstallationFactory(is_active=False)
    AlertSettings.objects.create(installation=gone, emails="old@demo.example")
    Installation.objects.filter(pk=gone.pk).update(eduframe_auth_error="refused")
    assert tasks.alert_incidents_check_all() == 1
    assert len(mail.outbox) == 1
