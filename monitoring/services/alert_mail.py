"""Alert e-mails, through Django's mail framework (EMAIL_URL decides where they go; the console by default)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from monitoring.models import AlertSettings
from plugin.models import Installation

SUBJECT_PREFIX = "[EduExact] "


def alert_recipients(*, installation: Installation) -> list[str]:
    """The installation's `Alert e-mail` addresses; empty when nobody asked for alerts."""
    row = AlertSettings.objects.filter(installation=installation).first()
    return row.recipients if row else []


def page_url(name: str, *args, query: str = "") -> str:
    """An absolute link to one of the administrator's pages, for a mail."""
    return settings.PUBLIC_URL + reverse(name, args=args) + (f"?{query}" if query else "")


def alert_mail_send(*, recipients: list[str], subject: str, body: str) -> None:
    """Send one alert mail to every recipient; delivery errors are raised, so the caller can try again later."""
    send_mail(
        subject=SUBJECT_PREFIX + subject,
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=False,
    )
