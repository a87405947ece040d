"""What the bench scripts share: an installation connected to a simulated Exact division, settings complete."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from plugin.models import ExactConnection, GlobalSettings, Installation


def connected_installation(exact_server, exact, *, division: int, sync_from: date) -> Installation:
    """An installation with the Exact simulator's own tokens, journal 70, ledger 8000 and `Sync from`."""
    tokens = exact.issue_tokens_for(exact.default_user().user_id)
    installation = Installation.objects.create(
        educator_slug="demo-academy", educator_name="Demo Academy", eduframe_access_token="demo-token"
    )
    now = timezone.now()
    ExactConnection.objects.create(
        installation=installation,
        base_url=exact_server.url,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_expires_at=now + timedelta(seconds=600),
        tokens_issued_at=now,
    )
    GlobalSettings.objects.create(
        installation=installation, division=division, journal_code="70", ledger_code="8000", sync_from=sync_from
    )
    return installation
