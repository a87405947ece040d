"""Authorization codes, access tokens and rotating refresh tokens, with Exact's timing rules [C S1]."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

ACCESS_TOKEN_SECONDS = 600  # "valid for 10 minutes" [C S1]
CODE_SECONDS = 180  # about 3 minutes (Invantive) [R]


class TokenError(Exception):
    """An OAuth error response: {"error": ..., "error_description": ...} plus optional headers."""

    def __init__(self, status: int, error: str, description: str = "", headers: dict | None = None):
        super().__init__(description or error)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}

    def body(self) -> dict:
        return (
            {"error": self.error, "error_description": self.description} if self.description else {"error": self.error}
        )


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    expires_at: datetime
    used: bool = False
    country: str = "NL"  # the platform (host) that issued it


@dataclass
class Grant:
    """One consent. Rotation keeps exactly one live refresh token; a reuse kills the grant."""

    grant_id: str
    client_id: str
    user_id: str
    refresh_token: str
    refresh_issued_at: datetime
    last_issued_at: datetime
    alive: bool = True
    country: str = "NL"


@dataclass
class AccessToken:
    token: str
    client_id: str
    user_id: str
    expires_at: datetime
    country: str = "NL"


class TokenStore:
    def __init__(self):
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh_index: dict[str, str] = {}  # every refresh token ever issued -> grant id
        self.access: dict[str, AccessToken] = {}
        self.daily_calls: dict[tuple, int] = {}
        self.too_early_status = 400  # older Exact text says 401 [K S7 autorefresh.py]
        # Concurrent refreshes with one refresh token: the first wins; the others get "old_token" (401 "Old
        # refresh token used.", picqer #549) or, within 570 s of the winner's new token, "too_early" (400
        # TooEarlyToRefreshTokens, which leaves the grant alive) [R/U S13: picqer #549, #644].
        self.concurrent_refresh_refusal = "old_token"
        self.refresh_token_days = 30
        self.daily_cap = 200

    def new_code(self, client_id: str, user_id: str, redirect_uri: str, now: datetime, country: str = "NL") -> str:
        code = secrets.token_urlsafe(24)
        expires = now + timedelta(seconds=CODE_SECONDS)
        self.codes[code] = AuthCode(code, client_id, user_id, redirect_uri, expires, country=country)
        return code

    def count_call(self, client_id: str, user_id: str, now: datetime) -> None:
        """At most 200 token calls per app, user and day [C S16]; the refusal's shape is unknown [U]."""
        key = (client_id, user_id, now.date())
        self.daily_calls[key] = self.daily_calls.get(key, 0) + 1
        if self.daily_calls[key] > self.daily_cap:
            raise TokenError(429, "access_denied", "Rate limit exceeded: too many token requests today")

    def exchange_code(self, client_id: str, code: str, redirect_uri: str, now: datetime, country: str = "NL") -> dict:
        auth = self.codes.get(code)
        if auth is None or auth.client_id != client_id or auth.country != country:
            raise TokenError(400, "invalid_grant")  # another country's platform does not know the code
        self.count_call(client_id, auth.user_id, now)
        if auth.used or auth.expires_at <= now:
            raise TokenError(400, "invalid_grant")  # single use, ~3 minutes [R picqer #96]
        if auth.redirect_uri != redirect_uri:
            raise TokenError(400, "invalid_grant", "redirect_uri mismatch")
        auth.used = True
        return self.issue(client_id, auth.user_id, now, country)

    def issue(self, client_id: str, user_id: str, now: datetime, country: str = "NL") -> dict:
        """A new grant (consent or test shortcut) with its first token pair, bound to one country's host."""
        grant = Grant(secrets.token_hex(8), client_id, user_id, "", now, now, country=country)
        self.grants[grant.grant_id] = grant
        return self._rotate(grant, now)

    def _rotate(self, grant: Grant, now: datetime) -> dict:
        access = "AAEA" + secrets.token_urlsafe(32)
        refresh = "Gqtk!" + secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=600)
        self.access[access] = AccessToken(access, grant.client_id, grant.user_id, expires, grant.country)
        self.refresh_index[refresh] = grant.grant_id
        grant.refresh_token, grant.refresh_issued_at, grant.last_issued_at = refresh, now, now
        # expires_in is the string "600" (picqer requires a digit string) [K S7].
        return {"access_token": access, "token_type": "bearer", "expires_in": "600", "refresh_token": refresh}

    def refresh(self, client_id: str, refresh_token: str, now: datetime, country: str = "NL") -> dict:
        grant = self.grants.get(self.refresh_index.get(refresh_token, ""))
        if grant is None or grant.client_id != client_id or grant.country != country:
            raise TokenError(400, "invalid_grant", "Invalid refresh token")
        self.count_call(client_id, grant.user_id, now)
        too_early = now - grant.last_issued_at < timedelta(seconds=570)
        if not grant.alive or grant.refresh_token != refresh_token:
            if grant.alive and too_early and self.concurrent_refresh_refusal == "too_early":
                raise self._too_early()
            # Reuse of a rotated token kills the whole grant: only a new consent helps [C S1, R S13].
            grant.alive = False
            raise TokenError(401, "unauthorized_client", "Old refresh token used.")
        self._check_expiry(grant, now)
        if too_early:
            raise self._too_early()
        return self._rotate(grant, now)

    def _too_early(self) -> TokenError:
        return TokenError(
            self.too_early_status,
            "access_denied",
            "Rate limit exceeded: access_token not expired",
            {"Reason": "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"},
        )

    def _check_expiry(self, grant: Grant, now: datetime) -> None:
        expires = grant.refresh_issued_at + timedelta(days=self.refresh_token_days)
        if now >= expires:
            # Wording from websmurf #22/#23 [R].
            raise TokenError(
                400,
                "invalid_request",
                f"The refresh token expired at {expires:%m/%d/%Y %I:%M:%S %p} and it is now {now:%m/%d/%Y %I:%M:%S %p}.",
            )

    def authenticate(self, token: str, now: datetime, country: str = "NL") -> AccessToken | None:
        """The live access token of this country's host, or None. An old access token stays valid after a
        refresh until its own 600 s run out (unconfirmed [U])."""
        found = self.access.get(token)
        if found is None or found.expires_at <= now or found.country != country:
            return None
        return found

    def known(self, token: str) -> AccessToken | None:
        return self.access.get(token)
