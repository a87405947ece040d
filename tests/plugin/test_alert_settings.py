"""The `Alert e-mail` field on the settings page: one or more addresses, each checked, saved with the settings."""

from __future__ import annotations

import pytest

from monitoring.models import AlertSettings
from plugin.models import GlobalSettings
from tests.plugin.conftest import settings_values

pytestmark = pytest.mark.django_db


def test_the_field_is_labelled_as_the_contract_says(admin, connected):
    page = admin.get("/settings/").content.decode()
    assert '<label for="id_alert_email">Alert e-mail</label>' in page
    assert 'id="id_alert_email"' in page


def test_it_saves_several_addresses_with_the_settings(admin, installation, connected):
    response = admin.post(
        "/settings/", settings_values(alert_email=" finance@demo.example ,it@demo.example,"), follow=True
    )
    assert AlertSettings.objects.get(installation=installation).recipients == [
        "finance@demo.example",
        "it@demo.example",
    ]
    page = response.content.decode()
    assert "Alert e-mail saved." in page
    assert 'value="finance@demo.example, it@demo.example"' in page


def test_a_bad_address_is_named_and_nothing_is_saved(admin, installation, connected):
    response = admin.post(
        "/settings/", settings_values(ledger_code="8010", alert_email="finance@demo.example, it at demo")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not a valid e-mail address: &#x27;it at demo&#x27;." in page
    assert 'value="finance@demo.example, it at demo"' in page
    assert not AlertSettings.objects.filter(installation=installation).exists()
    assert GlobalSettings.objects.get(installation=installation).ledger_code == "8000"


def test_emptying_the_field_stops_the_alerts(admin, installation, connected):
    AlertSettings.objects.create(installation=installation, emails="finance@demo.example")
    admin.post("/settings/", settings_values(alert_email=""))
    assert AlertSettings.objects.get(installation=installation).recipients == []


def test_a_post_without_the_field_leaves_the_addresses_alone(admin, installation, connected):
    """The confirmation of an earlier `Sync from` posts the global fields only."""
    AlertSettings.objects.create(installation=installation, emails="finance@demo.example")
    admin.post("/settings/", settings_values())
    assert AlertSettings.objects.get(installation=installation).recipients == ["finance@demo.example"]
