"""Eduframe webhooks: store the raw body first, then turn an invoice event into a queued sync.

The payload is only a hint (identifiers, no signature): the sync always re-fetches the invoice over the
authenticated API, so duplicate and out-of-order deliveries are harmless. Accepted shapes: the five keys
at the top level, or wrapped in `notification`; extra keys such as `event_data` are ignored.

Anything else, however broken (invalid or deeply nested JSON, ids of 2**63 and more, wrong types, NUL bytes),
is stored with the reason, its body cut to WEBHOOK_STORED_BODY_CHARS, and never raises. An invoice id we
have no record of costs one Eduframe lookup before a record is made, so made-up ids leave no records behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from plugin.models import Installation
from sync.errors import SyncError
from sync.models import InvoiceRecord, SyncAttempt, WebhookEvent

INVOICE_EVENTS = {"invoice.created", "invoice.updated", "invoice.deleted"}
# The columns' widths (WebhookEvent.event / entity_type) and the database's range of a BigIntegerField.
MAX_EVENT_CHARS = 64
MAX_ID = 2**63 - 1
# A reason quotes at most this much of a bad value.
MAX_QUOTED = 80
# A queued event still unprocessed after this long lost its task (a broker restart): the sweep sends it again.
LOST_TASK_AFTER = timedelta(minutes=10)


class PayloadError(ValueError):
    """The body is not a webhook payload we can read."""


@dataclass(frozen=True)
class Payload:
    event: str
    entity_type: str
    entity_id: int | None
    educator: str | None
    tenant_id: str | None


def _quoted(value) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "..."


def _as_int(value) -> int | None:
    """The entity id as an integer the database can hold, or None when absent; PayloadError otherwise."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 19:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"entity_id is not a whole number: {_quoted(value)}")
    if not 0 < value <= MAX_ID:
        raise PayloadError(f"entity_id is out of range (1 to 2**63-1): {_quoted(value)}")
    return value


def _as_text(value, name: str) -> str | None:
    """An identifier that must be a short string (or absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PayloadError(f"{name} is not a string: {_quoted(value)}")
    return storable(str(value))


def _loads(raw_body: str):
    try:
        return json.loads(raw_body)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise PayloadError("The body is not valid JSON: nested too deeply.") from exc
    except ValueError as exc:  # e.g. a number with more digits than Python converts
        raise PayloadError(f"The body is not valid JSON: {str(exc)[:MAX_QUOTED]}") from exc


def payload_parse(raw_body: str) -> Payload:
    """Read the identifiers out of a webhook body, or raise PayloadError saying what is wrong."""
    data = _loads(raw_body)
    if isinstance(data, dict) and isinstance(data.get("notification"), dict):
        data = data["notification"]
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise PayloadError("The body is not a webhook payload: a JSON object with an 'event' is expected.")
    event = storable(data["event"])
    if not event or len(event) > MAX_EVENT_CHARS:
        raise PayloadError(f"The event name is empty or too long: {_quoted(event)}")
    return Payload(
        event=event,
        entity_type=storable(str(data.get("entity_type") or ""))[:MAX_EVENT_CHARS],
        entity_id=_as_int(data.get("entity_id")),
        educator=_as_text(data.get("educator"), "educator"),
        tenant_id=_as_text(data.get("tenant_id"), "tenant_id"),
    )


def storable(text: str) -> str:
    """Text every database stores: no NUL (PostgreSQL refuses it), no lone surrogates (not UTF-8)."""
    return text.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")


def stored_body(raw_body: str) -> str:
    """The body as kept: cut to WEBHOOK_STORED_BODY_CHARS, saying so, so that junk cannot fill the database."""
    limit = settings.WEBHOOK_STORED_BODY_CHARS
    body = storable(raw_body)
    if len(body) <= limit:
        return body
    return body[:limit] + f"\n[cut: {len(body)} characters received, the first {limit} kept]"


def _tenant_mismatch(installation: Installation, payload: Payload) -> str:
    """Say why the payload belongs to another tenant, or return "" when it is ours (or does not say)."""
    if payload.educator and payload.educator != installation.educator_slug:
        return f"The webhook is for educator {_quoted(payload.educator)}, not {installation.educator_slug!r}; not processed."
    tenant = installation.eduframe_tenant_id
    if payload.tenant_id and tenant and str(payload.tenant_id) != tenant:
        return f"The webhook is for tenant {_quoted(payload.tenant_id)}, not {tenant!r}; not processed."
    return ""


def webhook_event_record(*, installation: Installation, raw_body: str, defer: bool = False) -> WebhookEvent:
    """Store a webhook as received; a body we cannot use is stored too, with the reason in `error`.

    A usable event is marked queued (`queued_at`): the caller sends its task. With `defer` it is left for
    `webhook_events_queue_deferred`, which sends it once the installation is back under its rate.
    """
    event = WebhookEvent(installation=installation, raw_body=stored_body(raw_body))
    try:
        payload = payload_parse(raw_body)
    except PayloadError as exc:
        event.error = storable(str(exc))
    else:
        event.event, event.entity_type, event.entity_id = payload.event, payload.entity_type, payload.entity_id
        event.error = _tenant_mismatch(installation, payload)
    if event.event and not event.error and not defer:
        event.queued_at = timezone.now()
    event.save()
    return event


def webhook_events_queue_deferred() -> int:
    """Send the processing task of waiting events: deferred ones, and any whose task was lost; return how many.

    At most WEBHOOK_RATE_LIMIT_PER_MINUTE per installation per run (beat runs it every minute), oldest first,
    so a flood drains at the rate the receiver processes at once, and nothing stored is left behind.
    """
    from sync.services.invoice_dispatch import webhook_event_request

    now = timezone.now()
    waiting = WebhookEvent.objects.filter(processed_at__isnull=True, error="", installation__is_active=True).filter(
        Q(queued_at__isnull=True) | Q(queued_at__lt=now - LOST_TASK_AFTER)
    )
    installations = waiting.order_by().values_list("installation_id", flat=True).distinct()
    ids: list[int] = []
    for installation_id in installations:
        oldest = waiting.filter(installation_id=installation_id).order_by("received_at", "id")
        ids += list(oldest.values_list("pk", flat=True)[: settings.WEBHOOK_RATE_LIMIT_PER_MINUTE])
    with transaction.atomic():
        WebhookEvent.objects.filter(pk__in=ids).update(queued_at=now)
        for event_id in ids:
            webhook_event_request(event_id=event_id)
    return len(ids)


def webhook_event_record_refused(*, installation: Installation, raw_body: str, reason: str) -> WebhookEvent:
    """Store a delivery refused before parsing (too large): its head and the reason, for inspection."""
    return WebhookEvent.objects.create(installation=installation, raw_body=stored_body(raw_body), error=reason)


def _unknown_invoice(event: WebhookEvent) -> str:
    """Say why an invoice event for an id we have no record of needs no record, or "" to queue it.

    Made-up ids must not grow the database: one Eduframe lookup decides. When Eduframe cannot answer (down,
    throttled, token refused) the event is queued as before, so a genuine invoice is never dropped; the sync
    then retries and records what it finds.
    """
    invoice_id = event.entity_id
    if invoice_id is None:  # never: _needs_lookup asks for an id
        return ""
    if InvoiceRecord.objects.filter(installation=event.installation, eduframe_invoice_id=invoice_id).exists():
        return ""
    if event.event == "invoice.deleted":
        return f"Invoice {event.entity_id} was never synced: nothing to remove."
    from sync.connections.eduframe import eduframe_client

    try:
        with eduframe_client(event.installation) as client:
            found = client.get_invoice(invoice_id)
    except SyncError:
        return ""
    return "" if found is not None else f"Eduframe has no invoice {event.entity_id}: nothing to sync."


def _needs_lookup(event: WebhookEvent) -> bool:
    return event.event in INVOICE_EVENTS and event.entity_id is not None and event.installation.is_active


def _process(event: WebhookEvent, unknown: str) -> None:
    from sync.services.invoice_queue import invoice_enqueue

    if event.event not in INVOICE_EVENTS:
        return
    if not event.installation.is_active:
        event.error = "The installation is no longer active: not synced."
        return
    if event.entity_id is None:
        event.error = f"{event.event} without an entity_id: nothing to sync."
        return
    if unknown:
        event.error = unknown
        return
    invoice_enqueue(
        installation=event.installation,
        eduframe_invoice_id=event.entity_id,
        trigger=SyncAttempt.Trigger.WEBHOOK,
        deleted=event.event == "invoice.deleted",
    )


def webhook_event_process(*, event_id: int) -> None:
    """Act on a stored webhook once: queue the invoice it names; other events are only marked processed."""
    event = WebhookEvent.objects.select_related("installation").get(pk=event_id)
    if event.processed_at is not None or event.error:
        return
    # The lookup runs outside the transaction: no row (or SQLite's whole database) stays locked over HTTP.
    unknown = _unknown_invoice(event) if _needs_lookup(event) else ""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update(of=("self",)).select_related("installation").get(pk=event_id)
        # A redelivered task, or an event refused at receipt (wrong tenant, bad body), is not acted on.
        if event.processed_at is not None or event.error:
            return
        _process(event, unknown)
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at", "error"])
