"""The bearer token of an installation: an API token as pasted, or an OAuth token refreshed near expiry.

The refresh runs under a row lock on the Installation, re-reading the tokens inside the lock, for the
same reason as on the Exact side: another worker may have refreshed (and rotated) them meanwhile
(`token_lock.py`, shared with Exact's tokens).
"""

from __future__ import annotations

import httpx
from django.db import transaction
from django.utils import timezone

from plugin.models import Installation
from sync.connections.token_lock import expires_soon, reread_locked
from sync.eduframe import oauth
from sync.errors import AuthError, TokensUnreadable

REINSTALL_MESSAGE = "Eduframe refused the plugin's token; install the plugin again from Eduframe."
UNREADABLE_MESSAGE = "The stored Eduframe credentials cannot be decrypted with the configured encryption key."
_FIELDS = ("eduframe_access_token", "eduframe_refresh_token", "eduframe_token_expires_at", "eduframe_auth")


def bearer_for(
    installation: Installation, *, transport: httpx.BaseTransport | None = None, rejected: str | None = None
) -> str:
    """Return the token to send to Eduframe, refreshing an OAuth token that is about to expire.

    `rejected` is a token Eduframe just answered 401 to: an OAuth token is then renewed even though its
    expiry, by our clock, still lies ahead (Eduframe's clock decides), unless another worker already did.
    """
    if installation.eduframe_tokens_unreadable:
        # Not a refusal: nothing is marked, and a refresh with an unreadable refresh token is never tried.
        raise TokensUnreadable(UNREADABLE_MESSAGE, exact=False)
    if not _needs_refresh(installation, rejected):
        return _token(installation)
    refused: AuthError | None = None
    with transaction.atomic():
        reread_locked(installation, _FIELDS)
        if not _needs_refresh(installation, rejected):
            return _token(installation)
        if not installation.eduframe_refresh_token:
            raise AuthError("The Eduframe token expired and cannot be renewed; install the plugin again.")
        try:
            token_set = oauth.refresh(refresh_token=installation.eduframe_refresh_token, transport=transport)
        except AuthError as exc:
            refused = exc
            mark_auth_error(installation, REINSTALL_MESSAGE)
        else:
            _save(installation, token_set)
            return installation.eduframe_access_token
    raise AuthError(REINSTALL_MESSAGE) from refused


def mark_auth_error(installation: Installation, message: str) -> None:
    """Record on the installation that Eduframe refuses our token (cheap UPDATE)."""
    installation.eduframe_auth_error = message
    Installation.objects.filter(pk=installation.pk).update(eduframe_auth_error=message, updated_at=timezone.now())
    from monitoring.signals import incidents_check_soon

    # The administrators hear of it at once (one mail per incident, however many invoices hit it).
    incidents_check_soon(installation.pk)


def clear_auth_error(installation: Installation) -> None:
    """Eduframe answered with the stored credentials again: forget an earlier refusal (so its incident closes)."""
    if not installation.eduframe_auth_error or installation.pk is None:
        return
    installation.eduframe_auth_error = ""
    Installation.objects.filter(pk=installation.pk).exclude(eduframe_auth_error="").update(
        eduframe_auth_error="", updated_at=timezone.now()
    )


def _token(installation: Installation) -> str:
    if not installation.eduframe_access_token:
        raise AuthError("There is no Eduframe token; install the plugin again from Eduframe.")
    return installation.eduframe_access_token


def renewable(installation: Installation) -> bool:
    """Can the installation's Eduframe token be renewed without the administrator (OAuth, saved, refresh token)?"""
    return (
        installation.eduframe_auth == Installation.EduframeAuth.OAUTH
        and installation.pk is not None
        and bool(installation.eduframe_refresh_token)
    )


def _needs_refresh(installation: Installation, rejected: str | None = None) -> bool:
    if installation.eduframe_auth != Installation.EduframeAuth.OAUTH:
        return False
    if rejected is not None and installation.eduframe_access_token == rejected:
        return True
    return expires_soon(installation.eduframe_token_expires_at)


def _save(installation: Installation, token_set: oauth.TokenSet) -> None:
    installation.eduframe_access_token = token_set.access_token
    installation.eduframe_refresh_token = token_set.refresh_token
    installation.eduframe_token_expires_at = token_set.expires_at
    installation.eduframe_auth_error = ""
    installation.save(
        update_fields=[
            "eduframe_access_token",
            "eduframe_refresh_token",
            "eduframe_token_expires_at",
            "eduframe_auth_error",
            "updated_at",
        ]
    )
