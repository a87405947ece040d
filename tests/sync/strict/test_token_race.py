"""Eight workers meet an expired Exact token at once: exactly one refresh, and every call goes through.

Exact rotates the refresh token on every refresh and refuses a second refresh within 570 s, so two refreshes
would disconnect the tenant. Threads with their own database connections stand in for the worker processes;
run with DATABASE_URL=postgres://... to see the row lock of PostgreSQL at work.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact import exact_client_for
from tests.sync.booking.conftest import DIVISION

pytestmark = pytest.mark.django_db(transaction=True)
WORKERS = 8


def test_eight_workers_meeting_an_expired_token_refresh_it_once(world):
    world.exact.clock.advance(600)
    issued = timezone.now() - timedelta(seconds=600)
    ExactConnection.objects.filter(installation=world.installation).update(
        tokens_issued_at=issued, access_expires_at=issued + timedelta(seconds=600)
    )
    start, errors, journals = threading.Barrier(WORKERS), [], []

    def worker() -> None:
        try:
            client = exact_client_for(world.installation)
            start.wait()
            journals.append(client.journals(DIVISION))
            client.close()
        except Exception as error:  # noqa: BLE001 (reported below: the assertion names it)
            errors.append(error)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(journals) == WORKERS
    refreshes = [r for r in world.exact.request_log if r["endpoint"] == "oauth2/token"]
    assert len(refreshes) == 1
    stored = ExactConnection.objects.get(installation=world.installation)
    assert stored.status == ExactConnection.Status.CONNECTED
    assert not [r for r in world.exact.request_log if r["status"] == 401]
