"""Keep the sync's history bounded: old processed webhooks and old attempts go, each invoice's story stays.

Every webhook and every attempt is stored, so a busy tenant adds thousands of rows a month. What an
accountant or operator needs later is each invoice's current state and its latest attempts, which are
never deleted here; webhooks that were never processed are kept too, whatever their age, unless they were
refused at receipt (a bad body, another tenant's event, too large): those go like processed ones.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from sync.models import SyncAttempt, WebhookEvent


def history_prune() -> dict[str, int]:
    """Delete processed webhooks and superseded attempts older than their retention; return the counts."""
    now = timezone.now()
    webhook_cutoff = now - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    attempt_cutoff = now - timedelta(days=settings.SYNC_ATTEMPT_RETENTION_DAYS)
    done = Q(processed_at__isnull=False) | ~Q(error="")
    webhooks, _ = WebhookEvent.objects.filter(done, received_at__lt=webhook_cutoff).delete()
    latest = SyncAttempt.objects.values("invoice_id").annotate(last=Max("id")).values("last")
    attempts, _ = SyncAttempt.objects.filter(started_at__lt=attempt_cutoff).exclude(id__in=latest).delete()
    return {"webhook_events": webhooks, "attempts": attempts}
