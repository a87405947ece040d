"""Signal handlers: a change of a setting, an override or the VAT mapping re-queues the invoices it affects.

Handlers only schedule work for after the commit: if the change rolls back, nothing is re-queued, and a
whole installation being deleted (cascading to its settings) finds nothing left to do.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from plugin.models import CourseOverride, ExactConnection, GlobalSettings, Installation, VatMapping

PAUSED_STATUSES = {ExactConnection.Status.NEEDS_RECONNECT, ExactConnection.Status.DISCONNECTED}


def _retry_attention(installation_id: int) -> None:
    from sync.models import SyncAttempt
    from sync.services.invoice_queue import invoices_retry_attention

    installation = Installation.objects.filter(pk=installation_id, is_active=True).first()
    if installation is not None:
        invoices_retry_attention(installation=installation, trigger=SyncAttempt.Trigger.SETTINGS)


def _reconcile_from(installation_id: int, since) -> None:
    from sync.services.invoice_dispatch import reconcile_request

    reconcile_request(installation_id=installation_id, since=since.isoformat() if since else None)


@receiver(post_save, sender=GlobalSettings, dispatch_uid="sync.settings_saved")
@receiver(post_save, sender=CourseOverride, dispatch_uid="sync.override_saved")
@receiver(post_save, sender=VatMapping, dispatch_uid="sync.vat_mapping_saved")
@receiver(post_delete, sender=GlobalSettings, dispatch_uid="sync.settings_deleted")
@receiver(post_delete, sender=CourseOverride, dispatch_uid="sync.override_deleted")
@receiver(post_delete, sender=VatMapping, dispatch_uid="sync.vat_mapping_deleted")
def settings_changed(sender, instance, **kwargs) -> None:
    """After the commit, retry the installation's invoices that wait for a fix."""
    installation_id = instance.installation_id
    transaction.on_commit(lambda: _retry_attention(installation_id))


# What post_save must compare, per model: read in pre_save, before the row is overwritten.
TRACKED_FIELDS = {GlobalSettings: "sync_from", ExactConnection: "status"}


@receiver(pre_save, sender=GlobalSettings, dispatch_uid="sync.settings_before_save")
@receiver(pre_save, sender=ExactConnection, dispatch_uid="sync.connection_before_save")
def remember_previous(sender, instance, **kwargs) -> None:
    """Keep the stored value of the tracked field on the instance (absent for a new row)."""
    field = TRACKED_FIELDS[sender]
    rows = list(sender.objects.filter(pk=instance.pk).values_list(field, flat=True)) if instance.pk else []
    instance._sync_previous = {field: rows[0]} if rows else {}


def _previous(instance, field: str):
    """Return (had a stored row, its value of the field)."""
    stored = getattr(instance, "_sync_previous", {})
    return field in stored, stored.get(field)


def _reaches_further_back(previous, current) -> bool:
    """Tell whether `Sync from` is set for the first time or now reaches further into the past."""
    return current is not None and (previous is None or current < previous)


@receiver(post_save, sender=GlobalSettings, dispatch_uid="sync.sync_from_moved")
def sync_from_moved(sender, instance, created, **kwargs) -> None:
    """When `Sync from` is first set or moves back, reconcile from the new date after the commit.

    The invoices Eduframe already has are booked without waiting for the next scheduled pass.
    """
    _, previous = _previous(instance, "sync_from")
    if _reaches_further_back(previous, instance.sync_from):
        installation_id, since = instance.installation_id, instance.sync_from
        transaction.on_commit(lambda: _reconcile_from(installation_id, since))


@receiver(post_save, sender=ExactConnection, dispatch_uid="sync.connection_saved")
def exact_reconnected(sender, instance, created, **kwargs) -> None:
    """When a paused Exact connection is connected again, retry the invoices it held back."""
    existed, previous = _previous(instance, "status")
    if existed and previous in PAUSED_STATUSES and instance.status == ExactConnection.Status.CONNECTED:
        installation_id = instance.installation_id
        transaction.on_commit(lambda: _retry_attention(installation_id))
