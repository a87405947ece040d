"""Eduframe webhooks: store the raw body first, then turn an invoice event into a queued sync.

The payload is only a hint (identifiers, no signature): the sync always re-fetches the invoice over the
authenticated API, so duplicate and out-of-order deliveries are harmless. Accepted shapes: the five keys
at the top level, or wrapped in `notification`; extra keys such as `event_data` are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from plugin.models import Installation
from sync.models import WebhookEvent

INVOICE_EVENTS = {"invoice.created", "invoice.updated", "invoice.deleted"}


class PayloadError(ValueError):
    """The body is not a webhook payload we can read."""


@dataclass(frozen=True)
class Payload:
    event: str
    entity_type: str
    entity_id: int | None
    educator: str | None
    tenant_id: str | None


def _as_int(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"entity_id is not a number: {value!r}") from exc


def payload_parse(raw_body: str) -> Payload:
    """Read the identifiers out of a webhook body, or raise PayloadError saying what is wrong."""
    try:
        data = json.loads(raw_body)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("notification"), dict):
        data = data["notification"]
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise PayloadError("The body is not a webhook payload: a JSON object with an 'event' is expected.")
    return Payload(
        event=data["event"],
        entity_type=str(data.get("entity_type") or ""),
        entity_id=_as_int(data.get("entity_id")),
        educator=data.get("educator"),
        tenant_id=data.get("tenant_id"),
    )


def _tenant_mismatch(installation: Installation, payload: Payload) -> str:
    """Say why the payload belongs to another tenant, or return "" when it is ours (or does not say)."""
    if payload.educator and payload.educator != installation.educator_slug:
        return f"The webhook is for educator {payload.educator!r}, not {installation.educator_slug!r}; not processed."
    tenant = installation.eduframe_tenant_id
    if payload.tenant_id and tenant and str(payload.tenant_id) != tenant:
        return f"The webhook is for tenant {payload.tenant_id!r}, not {tenant!r}; not processed."
    return ""


def webhook_event_record(*, installation: Installation, raw_body: str) -> WebhookEvent:
    """Store a webhook as received; a body we cannot use is stored too, with the reason in `error`."""
    event = WebhookEvent(installation=installation, raw_body=raw_body)
    try:
        payload = payload_parse(raw_body)
    except PayloadError as exc:
        event.error = str(exc)
    else:
        event.event, event.entity_type, event.entity_id = payload.event, payload.entity_type, payload.entity_id
        event.error = _tenant_mismatch(installation, payload)
    event.save()
    return event


def _process(event: WebhookEvent) -> None:
    from sync.services.invoice_queue import invoice_enqueue

    if event.event not in INVOICE_EVENTS:
        return
    if not event.installation.is_active:
        event.error = "The installation is no longer active: not synced."
        return
    if event.entity_id is None:
        event.error = f"{event.event} without an entity_id: nothing to sync."
        return
    invoice_enqueue(
        installation=event.installation,
        eduframe_invoice_id=event.entity_id,
        trigger="webhook",
        deleted=event.event == "invoice.deleted",
    )


def webhook_event_process(*, event_id: int) -> None:
    """Act on a stored webhook once: queue the invoice it names; other events are only marked processed."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update(of=("self",)).select_related("installation").get(pk=event_id)
        # A redelivered task, or an event refused at receipt (wrong tenant, bad body), is not acted on.
        if event.processed_at is not None or event.error:
            return
        _process(event)
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at", "error"])
