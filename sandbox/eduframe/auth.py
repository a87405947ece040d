"""API tokens and the OAuth2 authorization-code flow (clients, codes, access and refresh tokens)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sandbox.eduframe.records import locked

# Scope names from the OpenAPI security requirements [C S3, S4]. `catalog:read` is not an Eduframe scope;
# we accept it beside `courses:read` on catalog endpoints because our own settings asked for it.
ALL_SCOPES = (
    "invoices:read",
    "invoices:modify",
    "relations:read",
    "relations:modify",
    "courses:read",
    "catalog:read",
    "orders:read",
    "payments:read",
    "settings:read",
    "settings:modify",
)
ACCESS_TOKEN_SECONDS = 7200
CODE_SECONDS = 600


class OAuthError(Exception):
    """An OAuth2 error response: `{"error": code, "error_description": text}`."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def parse_scopes(scope: str | None) -> list[str]:
    """OAuth scopes are space-separated; commas are tolerated."""
    return [s for s in (scope or "").replace(",", " ").split() if s]


class AuthMixin:
    """Token registry (personal API keys and OAuth tokens) and the OAuth client registry."""

    def _init_auth(self) -> None:
        self.tokens: dict[str, dict] = {}
        self.oauth_clients: dict[str, dict] = {}
        self._codes: dict[str, dict] = {}
        self._refresh_tokens: dict[str, dict] = {}
        self.auto_approve = False
        self.rotate_refresh_tokens = True

    @locked
    def add_token(self, token: str, scopes: list[str], expires_in: int | None = None, client_id=None) -> dict:
        """Register a bearer token; `expires_in` seconds from now, None for a personal key without expiry."""
        expires_at = self.clock.now() + timedelta(seconds=expires_in) if expires_in else None
        record = {"token": token, "scopes": list(scopes), "expires_at": expires_at, "client_id": client_id}
        self.tokens[token] = record
        return record

    @locked
    def revoke_token(self, token: str) -> None:
        self.tokens.pop(token, None)

    @locked
    def token_record(self, token: str | None) -> dict | None:
        """Return the token's record when it exists and has not expired."""
        record = self.tokens.get(token or "")
        if record is None or (record["expires_at"] and record["expires_at"] <= self.clock.now()):
            return None
        return record

    @locked
    def add_oauth_client(self, client_id: str, secret: str, name: str = "EduExact", redirect_uris=None) -> dict:
        """Register an OAuth application; `redirect_uris` None accepts any redirect URI."""
        client = {"client_id": client_id, "secret": secret, "name": name, "redirect_uris": redirect_uris}
        self.oauth_clients[client_id] = client
        return client

    @locked
    def check_authorize_request(self, client_id: str, redirect_uri: str) -> dict:
        client = self.oauth_clients.get(client_id or "")
        if client is None:
            raise OAuthError("invalid_client", "Unknown client_id")
        if not redirect_uri or (client["redirect_uris"] and redirect_uri not in client["redirect_uris"]):
            raise OAuthError("invalid_request", "redirect_uri does not match the application")
        return client

    @locked
    def issue_code(self, client_id: str, redirect_uri: str, scopes: list[str]) -> str:
        code = secrets.token_urlsafe(24)
        expires_at = self.clock.now() + timedelta(seconds=CODE_SECONDS)
        self._codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "scopes": scopes}
        self._codes[code]["expires_at"] = expires_at
        return code

    def _authenticate_client(self, client_id: str, secret: str) -> dict:
        client = self.oauth_clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client["secret"], secret or ""):
            raise OAuthError("invalid_client", "Client authentication failed", status=401)
        return client

    @locked
    def exchange_code(self, client_id: str, secret: str, code: str, redirect_uri: str | None) -> dict:
        """authorization_code grant: a code works once, before it expires, for its own client and redirect."""
        self._authenticate_client(client_id, secret)
        grant = self._codes.pop(code or "", None)
        if grant is None or grant["client_id"] != client_id or grant["expires_at"] <= self.clock.now():
            raise OAuthError("invalid_grant", "The authorization code is invalid, expired or already used")
        if redirect_uri and redirect_uri != grant["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        return self._issue_tokens(client_id, grant["scopes"], refresh_token=None)

    @locked
    def refresh(self, client_id: str, secret: str, refresh_token: str) -> dict:
        """refresh_token grant; the old refresh token stops working when `rotate_refresh_tokens` is on."""
        self._authenticate_client(client_id, secret)
        grant = self._refresh_tokens.get(refresh_token or "")
        if grant is None or grant["client_id"] != client_id:
            raise OAuthError("invalid_grant", "The refresh token is invalid or revoked")
        if self.rotate_refresh_tokens:
            del self._refresh_tokens[refresh_token]
            refresh_token = None
        return self._issue_tokens(client_id, grant["scopes"], refresh_token=refresh_token)

    def _issue_tokens(self, client_id: str, scopes: list[str], refresh_token: str | None) -> dict:
        access = secrets.token_urlsafe(32)
        self.add_token(access, scopes, expires_in=ACCESS_TOKEN_SECONDS, client_id=client_id)
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh_token] = {"client_id": client_id, "scopes": scopes}
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh_token,
            "scope": " ".join(scopes),
        }
