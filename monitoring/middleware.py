"""Counts the webhook receiver's answers for /metrics, whichever gunicorn process gave them."""

from __future__ import annotations

import logging

from django.db import DatabaseError

from monitoring.services.booking_tally import webhook_answer_tally

WEBHOOK_PREFIX = "/webhooks/eduframe/"
logger = logging.getLogger(__name__)


class WebhookAnswerMetrics:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(WEBHOOK_PREFIX):
            try:
                webhook_answer_tally(status=response.status_code)
            except DatabaseError as exc:
                # The answer to Eduframe matters more than the count.
                logger.warning("Could not count a webhook answer: %r", exc)
        return response
