"""Signal handlers: a finished booking attempt is tallied; a connection marked for reconnecting is alerted at once."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from kombu.exceptions import OperationalError

from plugin.models import ExactConnection
from sync.models import SyncAttempt

logger = logging.getLogger(__name__)


@receiver(post_save, sender=SyncAttempt, dispatch_uid="monitoring.attempt_finished")
def attempt_finished(sender, instance: SyncAttempt, created: bool, update_fields=None, **kwargs) -> None:
    """Tally the outcome and duration of an attempt when it is saved as finished (once, at its end)."""
    if created or instance.finished_at is None or instance.outcome == SyncAttempt.Outcome.RUNNING:
        return
    if update_fields is not None and "finished_at" not in update_fields:
        return
    from monitoring.services.booking_tally import booking_tally

    booking_tally(attempt=instance)


@receiver(post_save, sender=ExactConnection, dispatch_uid="monitoring.connection_saved")
def connection_saved(sender, instance: ExactConnection, **kwargs) -> None:
    """A connection that needs reconnecting is news for the administrator now, not at the next check."""
    if instance.status == ExactConnection.Status.NEEDS_RECONNECT:
        incidents_check_soon(instance.installation_id)


def incidents_check_soon(installation_id: int | None) -> None:
    """Queue an incident check after the commit; a broker that is down must not break what called us."""
    if installation_id is None:
        return

    def enqueue() -> None:
        from monitoring.tasks import alert_incidents_check_task

        try:
            alert_incidents_check_task.delay(installation_id)
        except (OSError, OperationalError) as exc:
            # The beat's periodic check sends it a few minutes later.
            logger.warning("Could not queue the incident check of installation %s: %r", installation_id, exc)

    transaction.on_commit(enqueue)
