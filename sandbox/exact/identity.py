"""Registered OAuth clients (apps) and Exact users."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def accepts_redirect(self, uri: str) -> bool:
        """Exact requires an exactly matching HTTPS URI, with no extra query parameters (release note 2106,
        picqer #463 [R]). A client registered without URIs (the sandbox default) accepts any https URI and
        plain-http loopback URIs, so local development works; a query string is still refused."""
        if self.redirect_uris:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        if parts.query or parts.fragment:
            return False
        if parts.scheme == "https":
            return bool(parts.netloc)
        return parts.scheme == "http" and (parts.hostname in ("localhost", "127.0.0.1"))


@dataclass
class User:
    user_id: str
    full_name: str
    email: str
    divisions: list[int]
    current_division: int | None
    language: str = "nl-NL"

    @property
    def user_name(self) -> str:
        return self.email
