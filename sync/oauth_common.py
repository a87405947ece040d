"""What Exact's and Eduframe's OAuth2 token endpoints share: the token pair, the authlib client, the
mapping of a failed token request onto our error classes. Each provider's `oauth.py` keeps its own URLs,
credentials and the reading of its own refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.utils import timezone

from sync.errors import AmbiguousError, RetryableError
from sync.http_common import USER_AGENT, shared_ssl_context

TOKEN_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True)
class TokenSet:
    """One token pair as a token endpoint issued it (`expires_in` None: the provider named no expiry)."""

    access_token: str
    refresh_token: str
    expires_in: int | None
    issued_at: datetime

    @property
    def expires_at(self) -> datetime | None:
        return None if self.expires_in is None else self.issued_at + timedelta(seconds=self.expires_in)

    def __repr__(self) -> str:
        # Tokens never reach logs or tracebacks.
        return f"TokenSet(expires_in={self.expires_in}, issued_at={self.issued_at.isoformat()})"


def oauth_client(
    *,
    client_id: str | None,
    client_secret: str | None,
    transport: httpx.BaseTransport | None = None,
    scopes: list[str] | tuple[str, ...] | None = None,
) -> OAuth2Client:
    """An authlib client for one token request: credentials in the form body, explicit timeout, our User-Agent."""
    # Without a transport, the process's TLS context: a default one loads the CA bundle again (tens of ms).
    kwargs: dict[str, Any] = {"transport": transport} if transport is not None else {"verify": shared_ssl_context()}
    return OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        # Both providers want the client credentials in the form body.
        token_endpoint_auth_method="client_secret_post",
        scope=" ".join(scopes) if scopes else None,
        timeout=TOKEN_TIMEOUT,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        **kwargs,
    )


@dataclass(frozen=True)
class TokenEndpoint:
    """How one provider's token endpoint is named and how its refusals read."""

    name: str  # "Exact Online", "Eduframe": the start of every message
    refused: Callable[[OAuthError], Exception]  # an OAuth error answer (invalid_grant, ...)
    failed: Callable[[httpx.Response], Exception]  # any other unsuccessful HTTP answer
    token_set: Callable[[dict, datetime], TokenSet]  # a successful answer read into a TokenSet


def token_request(endpoint: TokenEndpoint, fetch: Callable[[], dict]) -> TokenSet:
    """Run a token request and map every failure onto our error classes."""
    issued_at = timezone.now()
    try:
        token = fetch()
    except OAuthError as exc:
        raise endpoint.refused(exc) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise RetryableError(f"{endpoint.name}'s token service could not be reached.") from exc
    except httpx.TransportError as exc:
        # The request went out: the provider may have rotated the refresh token without us seeing the answer.
        raise AmbiguousError(f"The answer of {endpoint.name}'s token service was lost.") from exc
    except httpx.HTTPStatusError as exc:
        raise endpoint.failed(exc.response) from exc
    except ValueError as exc:
        raise RetryableError(f"{endpoint.name}'s token service answered something that is not a token.") from exc
    return endpoint.token_set(token, issued_at)
