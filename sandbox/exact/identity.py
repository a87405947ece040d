"""Registered OAuth clients (apps) and Exact users."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    webhook_secret: str = ""  # the app's webhook secret; the client secret when none is registered [U]

    def __post_init__(self):
        self.webhook_secret = self.webhook_secret or self.client_secret

    def accepts_redirect(self, uri: str) -> bool:
        """Exact requires the redirect URI to match a registered one exactly (release note 2106, picqer #463
        [R]): no other path, port, trailing slash or query. A client registered without URIs accepts none."""
        return uri in self.redirect_uris


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
