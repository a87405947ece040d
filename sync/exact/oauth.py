"""Exact Online OAuth2 (authorization code, rotating refresh tokens), on authlib over httpx.

Exact's token endpoint quirks, all from docs/.../exact-online-api.md section 1: `expires_in` is the
string "600"; a reused refresh token answers 401 "Old refresh token used."; a refresh within 570 s of
the last issue answers 400 access_denied "Rate limit exceeded: access_token not expired"; and a
refresh whose answer is lost may still have rotated the token.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings

from sync.errors import AmbiguousError, AuthError, RetryableError
from sync.oauth_common import TokenEndpoint, TokenSet, oauth_client, token_request

__all__ = ["TokenSet", "TooEarlyError", "authorization_url", "exchange_code", "refresh"]


class TooEarlyError(RetryableError):
    """Exact refuses a new token within 570 s of the previous one."""


def authorization_url(*, base_url: str, redirect_uri: str, state: str) -> str:
    """Return the URL that asks the Exact user for consent."""
    # Reference: https://support.exactonline.com/community/s/knowledge-base#All-All-DNO-Content-oauth-eol-oauth-devstep2
    query = urlencode(
        {
            "client_id": settings.EXACT_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state,
        }
    )
    return f"{base_url.rstrip('/')}/api/oauth2/auth?{query}"


def exchange_code(
    *, base_url: str, code: str, redirect_uri: str, transport: httpx.BaseTransport | None = None
) -> TokenSet:
    """Trade an authorization code for the first token pair."""
    # Reference: https://support.exactonline.com/community/s/knowledge-base#All-All-DNO-Content-oauth-eol-oauth-devstep3
    with _oauth_client(transport) as client:
        return _call(
            lambda: client.fetch_token(
                _token_url(base_url), grant_type="authorization_code", code=code, redirect_uri=redirect_uri
            )
        )


def refresh(*, base_url: str, refresh_token: str, transport: httpx.BaseTransport | None = None) -> TokenSet:
    """Trade the current refresh token for a new pair (the old refresh token dies)."""
    # Reference: https://support.exactonline.com/community/s/knowledge-base#All-All-DNO-Content-oauth-eol-oauth-devstep4
    with _oauth_client(transport) as client:
        return _call(lambda: client.refresh_token(_token_url(base_url), refresh_token=refresh_token))


def _token_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/api/oauth2/token"


def _oauth_client(transport: httpx.BaseTransport | None) -> OAuth2Client:
    return oauth_client(
        client_id=settings.EXACT_CLIENT_ID, client_secret=settings.EXACT_CLIENT_SECRET, transport=transport
    )


def _refused(exc: OAuthError) -> Exception:
    return _oauth_error(exc.error, exc.description)


def _call(fetch) -> TokenSet:
    """Run a token request and map every failure onto our error classes."""
    return token_request(_ENDPOINT, fetch)


def _token_set(token: dict, issued_at: datetime) -> TokenSet:
    try:
        return TokenSet(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            # Exact sends the string "600".
            expires_in=int(token.get("expires_in") or 600),
            issued_at=issued_at,
        )
    except (KeyError, ValueError) as exc:
        raise RetryableError("Exact Online's token service answered an incomplete token.") from exc


def _oauth_error(error: str | None, description: str | None) -> Exception:
    text = description or error or "unknown error"
    # Current Exact says 400 access_denied; older text says 401 "Access Token not expired".
    if "not expired" in text.lower():
        return TooEarlyError("Exact Online refuses a new token within 570 seconds of the last one.", retry_after=30)
    if error in ("invalid_grant", "unauthorized_client", "invalid_client", "invalid_request", "access_denied"):
        return AuthError(f"Exact Online refused the token request: {text}")
    return AuthError(f"Exact Online refused the token request ({error}): {text}")


def _status_error(response: httpx.Response) -> Exception:
    if response.status_code >= 500:
        # The gateway may have issued the token anyway (the "ExtractAccessToken" fault).
        return AmbiguousError(f"Exact Online's token service failed ({response.status_code}).")
    if response.status_code == 429:
        return RetryableError("Exact Online's token service is rate limited.", retry_after=60)
    return AuthError(f"Exact Online refused the token request ({response.status_code}).")


_ENDPOINT = TokenEndpoint(name="Exact Online", refused=_refused, failed=_status_error, token_set=_token_set)
