"""The Eduframe webhook receiver: store the body, answer at once, process in the worker.

Eduframe signs nothing, so the receiver is secured by an unguessable secret in the URL (compared in
constant time) and the payload is only a hint: the worker re-fetches the invoice over the API. Eduframe
waits 10 seconds at most; nothing here calls an API.

Under abuse (someone who learnt the URL, or a runaway sender) the receiver stays bounded and never answers
500: a body over WEBHOOK_MAX_BODY_BYTES gets a 413, a body it cannot read a 400 (both stored, cut short, with
the reason). The per-installation rate has two steps. Over WEBHOOK_RATE_LIMIT_PER_MINUTE a webhook is still
stored and answered 202, but processed later (the beat sweep drains deferred events at that rate): Eduframe
gives up on a delivery after a few retries, so refusing a genuine burst could lose events, storing never does.
Over WEBHOOK_HARD_LIMIT_PER_MINUTE, far beyond anything Eduframe sends, the answer is a 429 with Retry-After
and nothing is stored: that bounds what a flood can write, and the scheduled reconciliation still books any
invoice whose webhook never got through.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from plugin.models import Installation
from sync.models import WebhookEvent
from sync.services.invoice_dispatch import webhook_event_request
from sync.services.webhook_events import webhook_event_record, webhook_event_record_refused

logger = logging.getLogger(__name__)
RATE_WINDOW = timedelta(minutes=1)


def _installation_or_404(installation_id: int, secret: str) -> Installation:
    installation = Installation.objects.filter(pk=installation_id, is_active=True).first()
    # Same answer for an unknown installation and a wrong secret: the URL reveals nothing.
    if installation is None or not hmac.compare_digest(installation.webhook_secret.encode(), secret.encode()):
        raise Http404("No such webhook.")
    return installation


@dataclass(frozen=True)
class Rate:
    defer: bool  # over the rate: store, process later
    retry_after: int | None  # over the hard limit: refuse, deliver again after this many seconds


def _rate(installation: Installation) -> Rate:
    """Where the installation stands against its webhook rate of the last minute (one indexed count)."""
    now = timezone.now()
    window = WebhookEvent.objects.filter(installation=installation, received_at__gte=now - RATE_WINDOW)
    seen = window.aggregate(count=Count("id"), first=Min("received_at"))
    if seen["count"] < settings.WEBHOOK_HARD_LIMIT_PER_MINUTE:
        return Rate(defer=seen["count"] >= settings.WEBHOOK_RATE_LIMIT_PER_MINUTE, retry_after=None)
    return Rate(defer=True, retry_after=max(1, math.ceil((seen["first"] + RATE_WINDOW - now).total_seconds())))


# A too-large body is read to its end (and thrown away) up to this size before the 413, so the sender sees the
# answer instead of a connection reset; beyond it the connection may be cut.
DRAIN_AT_MOST = 16 * 1024 * 1024
CHUNK = 64 * 1024


def _read_body(request: HttpRequest) -> tuple[bytes, bool]:
    """At most one byte more than the limit, so a huge body is never held in memory; (body, too_large)."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    body = request.read(limit + 1)
    if len(body) <= limit:
        return body, False
    drained = len(body)
    while drained < DRAIN_AT_MOST and (chunk := request.read(CHUNK)):
        drained += len(chunk)
    return body[: settings.WEBHOOK_STORED_BODY_CHARS], True


@csrf_exempt
@require_POST
def eduframe_webhook(request: HttpRequest, installation_id: int, secret: str) -> JsonResponse:
    """Receive one Eduframe webhook for an installation."""
    installation = _installation_or_404(installation_id, secret)
    rate = _rate(installation)
    if rate.retry_after is not None:
        logger.warning("Installation %s is over its hard webhook limit: answered 429.", installation.pk)
        response = JsonResponse({"error": "Too many webhooks for this installation; deliver again later."}, status=429)
        response["Retry-After"] = str(rate.retry_after)
        return response
    body, too_large = _read_body(request)
    raw_body = body.decode("utf-8", errors="replace")
    if too_large:
        reason = f"The body is larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes: not processed."
        event = webhook_event_record_refused(installation=installation, raw_body=raw_body, reason=reason)
        return JsonResponse({"error": reason, "event_id": event.pk}, status=413)
    with transaction.atomic():
        event = webhook_event_record(installation=installation, raw_body=raw_body, defer=rate.defer)
        if not event.event:
            # Unreadable: stored with the reason, and a 400 so that Eduframe's log shows the failure.
            return JsonResponse({"error": event.error, "event_id": event.pk}, status=400)
        if event.error:
            # Another tenant's event: kept for inspection; 200 so Eduframe does not redeliver it forever.
            return JsonResponse({"status": "ignored", "error": event.error, "event_id": event.pk})
        if event.queued_at is None:
            # Over the rate: stored, and processed by the sweep within a minute or so.
            return JsonResponse({"status": "deferred", "event_id": event.pk}, status=202)
        webhook_event_request(event_id=event.pk)
    return JsonResponse({"status": "accepted", "event_id": event.pk}, status=202)
