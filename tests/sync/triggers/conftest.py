"""Fixtures for the triggers: an installation ready to sync, and the task seams patched (never eager)."""

from __future__ import annotations

from datetime import date
from unittest.mock import patch

import pytest

from plugin.models import ExactConnection
from sync import tasks
from tests.factories import ExactConnectionFactory, GlobalSettingsFactory, InstallationFactory


@pytest.fixture
def installation(db):
    """An installation with a connected Exact and complete settings (Sync from 1 January 2026)."""
    installation = InstallationFactory(educator_slug="demo-academy", eduframe_tenant_id="tenant-1")
    ExactConnectionFactory(installation=installation, status=ExactConnection.Status.CONNECTED)
    GlobalSettingsFactory(installation=installation, sync_from=date(2026, 1, 1))
    return installation


@pytest.fixture(autouse=True)
def roomy_dispatcher(settings):
    """Triggers are about what is asked for; the dispatcher's limits have their own tests (test_dispatch.py)."""
    settings.SYNC_TASKS_PER_TENANT = 50
    settings.SYNC_TASKS_IN_FLIGHT = 200


@pytest.fixture
def sync_delay():
    """The dispatcher's send of `sync_invoice_task(record_id, trigger)`, patched at the seam: what would have
    been sent to the broker (catch-up work goes with a lower priority, the rest with `delay`)."""
    from sync.services import invoice_dispatch

    with patch.object(invoice_dispatch, "_send", autospec=True) as send:
        yield send


@pytest.fixture
def webhook_delay():
    with patch.object(tasks.process_webhook_event_task, "delay", autospec=True) as delay:
        yield delay


@pytest.fixture
def reconcile_delay():
    with patch.object(tasks.reconcile_installation_task, "delay", autospec=True) as delay:
        yield delay


def sent_record_ids(delay) -> list[int]:
    """The record ids the patched delay was called with, in order."""
    return [call.args[0] for call in delay.call_args_list]
