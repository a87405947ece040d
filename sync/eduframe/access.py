"""What an EduframeClient needs from outside HTTP, as small Protocols: the client speaks HTTP and types only.

The database side of an installation (`sync/connections/eduframe.py`) implements them: tokens refreshed
under a row lock, Eduframe's Retry-After shared by every process, reference data shared through Django's
cache. `EduframeAccess.for_token` serves a token that is not stored (yet): the install flow checks a
pasted token or a fresh OAuth token with it before anything is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sync.errors import AuthError

REFUSED_OAUTH = (
    "Eduframe refused EduExact's access; open the plugin from Eduframe (Click to install) to allow it again."
)
REFUSED_API_TOKEN = "Eduframe refused the API token; install the plugin again with a new token."


def refused_message(*, oauth: bool) -> str:
    """What the administrator must do when Eduframe refuses our credentials, per kind of credentials."""
    return REFUSED_OAUTH if oauth else REFUSED_API_TOKEN


class TokenSource(Protocol):
    """The bearer token of one tenant."""

    def token(self, *, rejected: str | None = None) -> str:
        """The token to send; `rejected` is one Eduframe just answered 401 to (an OAuth token is then renewed)."""
        ...

    def renewable(self) -> bool:
        """Can a refused token be renewed without the administrator (a stored OAuth token with a refresh token)?"""
        ...

    def accepted(self) -> None:
        """Eduframe answered with these credentials: forget an earlier refusal (its incident closes)."""
        ...

    def refused(self) -> Exception:
        """Eduframe refuses the credentials: remember it where the administrator sees it; the error to raise."""
        ...


class Throttle(Protocol):
    """Eduframe's Retry-After of a tenant (its rate limit is per token), shared by the processes that call it."""

    def until(self) -> datetime | None:
        """The moment before which no call may go out, if any."""
        ...

    def hold(self, until: datetime) -> None:
        """Remember a Retry-After (a later moment than the stored one wins)."""
        ...


class ReferenceCache(Protocol):
    """Reference data (VAT rates, the VAT field, variants, editions) kept a few minutes beyond one client."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class BearerToken:
    """A token that is not stored: used as is, never renewed, a refusal only reported."""

    value: str
    oauth: bool = False

    def token(self, *, rejected: str | None = None) -> str:
        if not self.value:
            raise AuthError("There is no Eduframe token; install the plugin again from Eduframe.")
        return self.value

    def renewable(self) -> bool:
        return False

    def accepted(self) -> None:
        """Nothing stored, nothing to forget."""

    def refused(self) -> Exception:
        return AuthError(refused_message(oauth=self.oauth))


class NoThrottle:
    """No Retry-After shared with anyone (a one-off check of a token that is not stored)."""

    def until(self) -> datetime | None:
        return None

    def hold(self, until: datetime) -> None:
        return None


class NoCache:
    """Reference data fetched every time (a one-off check)."""

    def get(self, key: str) -> Any:
        return None

    def set(self, key: str, value: Any) -> None:
        return None


@dataclass(frozen=True)
class EduframeAccess:
    """Everything an EduframeClient receives for one tenant besides the HTTP transport."""

    tokens: TokenSource
    throttle: Throttle
    cache: ReferenceCache

    @classmethod
    def for_token(cls, token: str, *, oauth: bool = False) -> EduframeAccess:
        """Access with a token that is not stored (yet): nothing is read from or written to the database."""
        return cls(tokens=BearerToken(token, oauth=oauth), throttle=NoThrottle(), cache=NoCache())
