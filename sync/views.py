"""The Eduframe webhook receiver: store the body, answer at once, process in the worker.

Eduframe signs nothing, so the receiver is secured by an unguessable secret in the URL (compared in
constant time) and the payload is only a hint: the worker re-fetches the invoice over the API. Eduframe
waits 10 seconds at most; nothing here calls an API.
"""

from __future__ import annotations

import hmac

from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from plugin.models import Installation
from sync.services.invoice_dispatch import webhook_event_request
from sync.services.webhook_events import webhook_event_record


def _installation_or_404(installation_id: int, secret: str) -> Installation:
    installation = Installation.objects.filter(pk=installation_id, is_active=True).first()
    # Same answer for an unknown installation and a wrong secret: the URL reveals nothing.
    if installation is None or not hmac.compare_digest(installation.webhook_secret.encode(), secret.encode()):
        raise Http404("No such webhook.")
    return installation


@csrf_exempt
@require_POST
def eduframe_webhook(request: HttpRequest, installation_id: int, secret: str) -> JsonResponse:
    """Receive one Eduframe webhook for an installation."""
    installation = _installation_or_404(installation_id, secret)
    raw_body = request.body.decode("utf-8", errors="replace")
    with transaction.atomic():
        event = webhook_event_record(installation=installation, raw_body=raw_body)
        if not event.event:
            # Unreadable: stored with the reason, and a 400 so that Eduframe's log shows the failure.
            return JsonResponse({"error": event.error, "event_id": event.pk}, status=400)
        if event.error:
            # Another tenant's event: kept for inspection; 200 so Eduframe does not redeliver it forever.
            return JsonResponse({"status": "ignored", "error": event.error, "event_id": event.pk})
        webhook_event_request(event_id=event.pk)
    return JsonResponse({"status": "accepted", "event_id": event.pk}, status=202)
