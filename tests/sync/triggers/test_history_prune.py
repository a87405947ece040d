"""history_prune: old processed webhooks and superseded attempts go; each invoice's latest attempt stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import SyncAttempt, WebhookEvent
from sync.services.history_prune import history_prune
from tests.factories import InvoiceRecordFactory

pytestmark = pytest.mark.django_db


def _aged(model, row, days: int, field: str):
    model.objects.filter(pk=row.pk).update(**{field: timezone.now() - timedelta(days=days)})
    return row


def _event(installation, days: int, processed: bool = True):
    event = WebhookEvent.objects.create(
        installation=installation, raw_body="{}", processed_at=timezone.now() if processed else None
    )
    return _aged(WebhookEvent, event, days, "received_at")


def _attempt(record, days: int):
    return _aged(SyncAttempt, SyncAttempt.objects.create(invoice=record, trigger="webhook"), days, "started_at")


def test_it_deletes_processed_webhooks_past_their_retention_and_keeps_recent_ones(installation):
    old, recent = _event(installation, days=100), _event(installation, days=10)
    assert history_prune()["webhook_events"] == 1
    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not WebhookEvent.objects.filter(pk=old.pk).exists()


def test_it_keeps_an_unprocessed_webhook_whatever_its_age(installation):
    waiting = _event(installation, days=400, processed=False)
    history_prune()
    assert WebhookEvent.objects.filter(pk=waiting.pk).exists()


def test_it_deletes_old_attempts_but_keeps_each_invoices_latest(installation):
    record = InvoiceRecordFactory(installation=installation)
    oldest, older = _attempt(record, days=500), _attempt(record, days=400)
    assert history_prune()["attempts"] == 1
    assert not SyncAttempt.objects.filter(pk=oldest.pk).exists()
    assert SyncAttempt.objects.filter(pk=older.pk).exists()


def test_pruning_runs_on_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "sync.tasks.prune_sync_history" in tasks
