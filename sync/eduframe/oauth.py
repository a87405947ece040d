"""Eduframe OAuth2 (authorization code + refresh) on authlib over httpx, for installs by OAuth.

The token response shape is not documented by Eduframe (notes section 1.2); we expect the usual
`{access_token, token_type, refresh_token, expires_in}` and tolerate a missing refresh token or expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.conf import settings
from django.utils import timezone

from sync.errors import AmbiguousError, AuthError, RetryableError
from sync.http_common import USER_AGENT

TOKEN_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int | None
    issued_at: datetime

    @property
    def expires_at(self) -> datetime | None:
        return None if self.expires_in is None else self.issued_at + timedelta(seconds=self.expires_in)

    def __repr__(self) -> str:
        return f"TokenSet(expires_in={self.expires_in}, issued_at={self.issued_at.isoformat()})"


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


def _oauth_client(transport: httpx.BaseTransport | None, scopes=None) -> OAuth2Client:
    kwargs = {"transport": transport} if transport is not None else {}
    return OAuth2Client(
        client_id=settings.EDUFRAME_CLIENT_ID,
        client_secret=settings.EDUFRAME_CLIENT_SECRET,
        token_endpoint_auth_method="client_secret_post",
        scope=" ".join(scopes) if scopes else None,
        timeout=TOKEN_TIMEOUT,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        **kwargs,
    )


def _call(fetch) -> TokenSet:
    issued_at = timezone.now()
    try:
        token = fetch()
    except OAuthError as exc:
        raise AuthError(f"Eduframe refused the token request: {exc.description or exc.error}") from exc
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise RetryableError("Eduframe's token service could not be reached.") from exc
    except httpx.TransportError as exc:
        raise AmbiguousError("The answer of Eduframe's token service was lost.") from exc
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code >= 500 or exc.response.status_code == 429:
            raise RetryableError(f"Eduframe's token service failed ({exc.response.status_code}).") from exc
        raise AuthError(f"Eduframe refused the token request ({exc.response.status_code}).") from exc
    except ValueError as exc:
        raise RetryableError("Eduframe's token service answered something that is not a token.") from exc
    if not token.get("access_token"):
        raise RetryableError("Eduframe's token service answered without an access token.")
    expires_in = token.get("expires_in")
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or "",
        expires_in=int(expires_in) if expires_in not in (None, "") else None,
        issued_at=issued_at,
    )
