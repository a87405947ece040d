"""Thin Celery tasks: ids in, one service call; the services own idempotency and the records.

The sync task never retries itself: the booking records every error on the invoice (a temporary one with
its retry time, a spent budget with its reset) and the dispatcher (sync/services/invoice_dispatch.py), the
one way into the broker, sends it again when it is due. Anything else is a bug and fails loudly, once.
"""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings

from sync.errors import RetryableError, TokensUnreadable

logger = logging.getLogger(__name__)

_LIMITS = {
    "acks_late": True,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
}


def _sync_invoice_task_failure(self, exc, task_id, args, kwargs, einfo) -> None:
    """Record on the invoice that its sync gave up, so the log shows it and the retry scan takes it again."""
    from sync.services.invoice_queue import invoice_record_task_failure

    record_id = args[0] if args else kwargs.get("record_id")
    logger.error("sync_invoice_task gave up on record %s: %r", record_id, exc)
    if record_id is not None:
        message = getattr(exc, "message", None) or repr(exc)
        retryable = isinstance(exc, (RetryableError, SoftTimeLimitExceeded, TimeLimitExceeded))
        invoice_record_task_failure(record_id=record_id, message=message, retryable=retryable)


@shared_task(**_LIMITS, on_failure=_sync_invoice_task_failure)
def sync_invoice_task(record_id: int, trigger: str) -> None:
    """Book, update or remove one invoice in Exact; then free its slot and let the next due work in."""
    from sync.services.invoice_dispatch import invoice_task_finished, invoice_task_started, invoices_dispatch
    from sync.services.invoice_sync import invoice_sync

    due_at_seen, installation_id = invoice_task_started(record_id=record_id)
    attempt = None
    try:
        attempt = invoice_sync(record_id=record_id, trigger=trigger)
    finally:
        # Not run because another attempt holds the invoice (maybe a worker killed mid-booking): the schedule
        # stays as it is, and the dispatcher sends the invoice again once that claim can have expired.
        if attempt is None or attempt.pk is not None:
            invoice_task_finished(record_id=record_id, due_at_seen=due_at_seen)
        invoices_dispatch(installation_id=installation_id)


@shared_task(**_LIMITS)
def process_webhook_event_task(event_id: int) -> None:
    """Act on one stored Eduframe webhook."""
    from sync.services.webhook_events import webhook_event_process

    webhook_event_process(event_id=event_id)


def retry_countdown(exc: RetryableError, retries: int) -> float:
    """Seconds before the next try: the server's own wait (Eduframe's Retry-After, Exact's reset) when it
    names one, else 1, 2, 4 ... minutes; retrying sooner only earns the same 429 again."""
    backoff = min(600.0, 60.0 * 2**retries)
    return max(backoff, float(exc.retry_after or 0))


@shared_task(bind=True, max_retries=5, **_LIMITS)
def reconcile_installation_task(self, installation_id: int, since: str | None = None) -> None:
    """Compare one installation's Eduframe invoices with the records and enqueue what is missing."""
    try:
        _reconcile(installation_id, since)
    except RetryableError as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(exc, self.request.retries)) from exc
    except TokensUnreadable as exc:
        # Not a bug to fail loudly on: the administrators are alerted, and the next reconciliation runs as usual.
        from monitoring.signals import incidents_check_soon

        logger.warning("Installation %s: reconciliation skipped: %s", installation_id, exc.message)
        incidents_check_soon(installation_id)


def _reconcile(installation_id: int, since: str | None) -> None:
    from sync.models import SyncAttempt
    from sync.services.reconcile import installation_reconcile, installations_ready

    installation = installations_ready().filter(pk=installation_id).first()
    if installation is None:
        # Not connected, not configured or uninstalled: its invoices would only end up needing attention.
        logger.info("Installation %s is not ready to sync; reconciliation skipped.", installation_id)
        return
    since_date = date.fromisoformat(since) if since else None
    count = installation_reconcile(installation=installation, since=since_date, trigger=SyncAttempt.Trigger.RECONCILE)
    logger.info("Installation %s: %s invoices queued by reconciliation.", installation_id, count)


@shared_task(**_LIMITS)
def reconcile_installations() -> int:
    """Beat: start a reconciliation of every installation that is ready to sync."""
    from sync.services.invoice_dispatch import reconcile_request
    from sync.services.reconcile import installations_ready

    ids = list(installations_ready().values_list("pk", flat=True))
    for installation_id in ids:
        reconcile_request(installation_id=installation_id)
    return len(ids)


@shared_task(**_LIMITS)
def retry_due_invoices() -> int:
    """Beat: send the due work (a budget that has reset, retries whose time came, tasks lost with the broker)."""
    from sync.services.invoice_dispatch import invoices_dispatch

    return invoices_dispatch()


@shared_task(**_LIMITS)
def queue_deferred_webhooks() -> int:
    """Beat: send the processing of webhooks deferred by the receiver's rate limit, or whose task was lost."""
    from sync.services.webhook_events import webhook_events_queue_deferred

    return webhook_events_queue_deferred()


@shared_task(**_LIMITS)
def prune_sync_history() -> dict:
    """Beat: delete old processed webhooks and superseded attempts."""
    from sync.services.history_prune import history_prune

    return history_prune()


@shared_task(**_LIMITS)
def reconciliation_run_task(run_id: int) -> None:
    """Read both sides and compare them for one reconciliation report."""
    from sync.services.reconciliation import reconciliation_run_execute

    reconciliation_run_execute(run_id=run_id)


@shared_task(**_LIMITS)
def recover_abandoned_reconciliation_runs() -> int:
    """Beat: show as failed the reconciliation runs whose worker died (or that no worker took up)."""
    from sync.services.reconciliation_recovery import reconciliation_runs_recover

    return reconciliation_runs_recover()


@shared_task(**_LIMITS)
def recover_abandoned_claims() -> int:
    """Beat: queue again the invoices whose worker died mid-booking (its claim's heartbeat stopped)."""
    from sync.services.claim_recovery import claims_recover_abandoned

    return claims_recover_abandoned()
