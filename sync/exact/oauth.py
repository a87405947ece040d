"""Exact Online OAuth2 (authorization code, rotating refresh tokens), on authlib over httpx.

Exact's token endpoint quirks, all from docs/.../exact-online-api.md section 1: `expires_in` is the
string "600"; a reused refresh token answers 401 "Old refresh token used."; a refresh within 570 s of
the last issue answers 400 access_denied "Rate limit exceeded: access_token not expired"; and a
refresh whose answer is lost may still have rotated the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings
from django.utils import timezone

from sync.errors import AmbiguousError, AuthError, RetryableError
from sync.http_common import USER_AGENT

TOKEN_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class TooEarlyError(RetryableError):
    """Exact refuses a new token within 570 s of the previous one."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    issued_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + timedelta(seconds=self.expires_in)

    def __repr__(self) -> str:
        # Tokens never reach logs or tracebacks.
        return f"TokenSet(expires_in={self.expires_in}, issued_at={self.issued_at.isoformat()})"


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
    kwargs = {"transport": transport} if transport is not None else {}
    return OAuth2Client(
        client_id=settings.EXACT_CLIENT_ID,
        client_secret=settings.EXACT_CLIENT_SECRET,
        # Exact wants the client credentials in the form body.
        token_endpoint_auth_method="client_secret_post",
        timeout=TOKEN_TIMEOUT,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        **kwargs,
    )


def _call(fetch) -> TokenSet:
    """Run a token request and map every failure onto our error classes."""
    issued_at = timezone.now()
    try:
        token = fetch()
    except OAuthError as exc:
        raise _oauth_error(exc.error, exc.description) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise RetryableError("Exact Online's token service could not be reached.") from exc
    except httpx.TransportError as exc:
        # The request went out: Exact may have rotated the refresh token without us seeing the answer.
        raise AmbiguousError("The answer of Exact Online's token service was lost.") from exc
    except httpx.HTTPStatusError as exc:
        raise _status_error(exc.response) from exc
    except ValueError as exc:
        raise RetryableError("Exact Online's token service answered something that is not a token.") from exc
    return _token_set(token, issued_at)


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
