"""Logging filters: keep the webhook secret (a path segment of the webhook URL) out of our log lines.

Django logs the path of each answer of 400 and above (`django.request`); the webhook URL carries the
installation's secret, so a refused or unreadable delivery would print it.
"""

from __future__ import annotations

import logging
import re

_WEBHOOK_SECRET = re.compile(r"(/webhooks/eduframe/\d+/)[^/?#\s\"]+")
REDACTED = r"\1<secret>"


def redact_webhook_secrets(text: str) -> str:
    """Replace the secret in every webhook URL of `text`."""
    return _WEBHOOK_SECRET.sub(REDACTED, text)


class RedactWebhookSecrets(logging.Filter):
    """Rewrite a record's message and arguments so that no webhook secret is printed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_webhook_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_webhook_secrets(a) if isinstance(a, str) else a for a in record.args)
        return True
