"""A refusal of Eduframe that passes is forgotten: the first call Eduframe answers again clears it."""

from __future__ import annotations

import pytest

from plugin.models import Installation
from sync.connections.eduframe import eduframe_client
from sync.errors import AuthError
from tests.factories import InstallationFactory

pytestmark = pytest.mark.django_db


def _stored_error(installation: Installation) -> str:
    return Installation.objects.get(pk=installation.pk).eduframe_auth_error


def test_a_passing_401_is_cleared_by_the_next_answer_so_the_incident_can_close(eduframe_sandbox):
    # Seen in a production-shaped run: one 401 left "Eduframe refuses the stored credentials" on the Security
    # page, and the incident open, while every later call was answered and invoices were booked.
    installation = InstallationFactory(educator_slug="demo-academy", eduframe_access_token="demo-token")
    eduframe_sandbox.state.inject_fault("*", "expired_token")
    with eduframe_client(installation) as client:
        with pytest.raises(AuthError):
            client.current_educator()
        assert _stored_error(installation)
        assert client.current_educator() is not None
    assert _stored_error(installation) == ""


def test_a_refusal_that_lasts_stays_recorded(eduframe_sandbox):
    installation = InstallationFactory(educator_slug="demo-academy", eduframe_access_token="not-a-token")
    with eduframe_client(installation) as client, pytest.raises(AuthError):
        client.current_educator()
    assert _stored_error(installation)
