"""Eduframe OAuth2 (authorization code + refresh) on authlib over httpx, for installs by OAuth.

The token response shape is not documented by Eduframe (https://developer.eduframe.nl/, Authentication); we expect the usual
`{access_token, token_type, refresh_token, expires_in}` and tolerate a missing refresh token or expiry.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings

from sync.errors import AuthError, RetryableError
from sync.oauth_common import TokenEndpoint, TokenSet, oauth_client, token_request

__all__ = ["TokenSet", "authorization_url", "exchange_code", "refresh"]


def authorization_url(*, redirect_uri: str, state: str, scopes: list[str] | tuple[str, ...]) -> str:
    """Return the Eduframe consent URL."""
    # Reference: https://developer.eduframe.nl/ (securityDefinitions: /login/oauth2/auth)
    with _oauth_client(None, scopes=scopes) as client:
        url, _ = client.create_authorization_url(_url("auth"), state=state, redirect_uri=redirect_uri)
    return url


def exchange_code(*, code: str, redirect_uri: str, transport: httpx.BaseTransport | None = None) -> TokenSet:
    """Trade an authorization code for tokens."""
    # Reference: https://developer.eduframe.nl/ (securityDefinitions: /login/oauth2/token)
    with _oauth_client(transport) as client:
        return _call(
            lambda: client.fetch_token(
                _url("token"), grant_type="authorization_code", code=code, redirect_uri=redirect_uri
            )
        )


def refresh(*, refresh_token: str, transport: httpx.BaseTransport | None = None) -> TokenSet:
    """Trade a refresh token for new tokens."""
    # Reference: https://developer.eduframe.nl/ (securityDefinitions: refreshUrl /login/oauth2/token)
    with _oauth_client(transport) as client:
        token_set = _call(lambda: client.refresh_token(_url("token"), refresh_token=refresh_token))
    if not token_set.refresh_token:
        # Some servers keep the refresh token: go on using it.
        token_set = TokenSet(token_set.access_token, refresh_token, token_set.expires_in, token_set.issued_at)
    return token_set


def _url(endpoint: str) -> str:
    return f"{settings.EDUFRAME_BASE_URL.rstrip('/')}/login/oauth2/{endpoint}"


def _oauth_client(
    transport: httpx.BaseTransport | None, scopes: list[str] | tuple[str, ...] | None = None
) -> OAuth2Client:
    return oauth_client(
        client_id=settings.EDUFRAME_CLIENT_ID,
        client_secret=settings.EDUFRAME_CLIENT_SECRET,
        transport=transport,
        scopes=scopes,
    )


def _call(fetch) -> TokenSet:
    return token_request(_ENDPOINT, fetch)


def _refused(exc: OAuthError) -> Exception:
    return AuthError(f"Eduframe refused the token request: {exc.description or exc.error}")


def _failed(response: httpx.Response) -> Exception:
    if response.status_code >= 500 or response.status_code == 429:
        return RetryableError(f"Eduframe's token service failed ({response.status_code}).")
    return AuthError(f"Eduframe refused the token request ({response.status_code}).")


def _token_set(token: dict, issued_at: datetime) -> TokenSet:
    if not token.get("access_token"):
        raise RetryableError("Eduframe's token service answered without an access token.")
    expires_in = token.get("expires_in")
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or "",
        expires_in=int(expires_in) if expires_in not in (None, "") else None,
        issued_at=issued_at,
    )


_ENDPOINT = TokenEndpoint(name="Eduframe", refused=_refused, failed=_failed, token_set=_token_set)
