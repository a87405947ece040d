"""Idle Exact connections are refreshed before their refresh tokens expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from plugin.services.exact_keepalive import exact_connections_keep_alive
from tests.plugin.conftest import connect

pytestmark = pytest.mark.django_db


def _age(connection: ExactConnection, days: int, exact_world=None) -> None:
    """Make the connection's tokens `days` old, here and (when given) in the simulator's clock."""
    if exact_world is not None:
        exact_world.state.clock.advance(days * 86400)
    issued = timezone.now() - timedelta(days=days)
    ExactConnection.objects.filter(pk=connection.pk).update(
        tokens_issued_at=issued, access_expires_at=issued + timedelta(seconds=600)
    )


def test_it_refreshes_a_connection_idle_for_more_than_a_week(installation, exact_world):
    connection = connect(installation, exact_world)
    _age(connection, days=8, exact_world=exact_world)
    old_refresh_token = ExactConnection.objects.get(pk=connection.pk).refresh_token
    assert exact_connections_keep_alive() == 1
    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh_token
    assert timezone.now() - connection.tokens_issued_at < timedelta(minutes=1)
    assert exact_world.state.counts().get("POST oauth2/token") == 1


def test_it_leaves_a_recently_refreshed_connection_alone(installation, exact_world):
    connect(installation, exact_world)
    assert exact_connections_keep_alive() == 0
    assert "POST oauth2/token" not in exact_world.state.counts()


def test_a_refused_refresh_marks_the_connection_for_reconnecting_and_goes_on(installation, exact_world):
    connection = connect(installation, exact_world)
    _age(connection, days=8)
    ExactConnection.objects.filter(pk=connection.pk).update(refresh_token="a-token-exact-never-issued")
    assert exact_connections_keep_alive() == 0
    connection.refresh_from_db()
    assert connection.status == ExactConnection.Status.NEEDS_RECONNECT


def test_the_keepalive_runs_on_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "plugin.tasks.keep_exact_connections_alive" in tasks
