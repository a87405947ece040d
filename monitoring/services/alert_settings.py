"""Reading and saving the installation's `Alert e-mail` addresses."""

from __future__ import annotations

from monitoring.models import AlertSettings
from plugin.models import Installation


def alert_emails_get(*, installation: Installation) -> str:
    """The addresses as the field shows them."""
    row = AlertSettings.objects.filter(installation=installation).first()
    return ", ".join(row.recipients) if row else ""


def alert_emails_save(*, installation: Installation, addresses: list[str]) -> bool:
    """Save the addresses; return whether they changed."""
    row, _ = AlertSettings.objects.get_or_create(installation=installation)
    emails = ", ".join(addresses)
    if row.emails == emails:
        return False
    row.emails = emails
    row.save(update_fields=["emails", "updated_at"])
    return True
