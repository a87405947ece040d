"""What an ExactClient needs from outside HTTP, as small Protocols: the client speaks HTTP and types only.

The database side of a connection (`sync/connections/exact.py`) implements them: the tokens under a row
lock, the call budget shared by every process, the per-day call counter. A test may hand in plain objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class TokenSource(Protocol):
    """The access tokens of one Exact connection."""

    def token(self, *, rejected: str | None = None) -> str:
        """A usable access token; `rejected` is one Exact just answered 401 to and is not handed out again."""
        ...

    def refused_again(self, token: str) -> Exception:
        """The error to raise when Exact refuses a token right after it was checked or refreshed."""
        ...

    def refused(self, message: str) -> Exception:
        """The error to raise when Exact refuses the connection itself (a 403 no new token cures)."""
        ...


class CallBudget(Protocol):
    """Exact's per-minute and per-day call budget of the connection, shared by every process."""

    def claim(self) -> None:
        """Take one call before sending it; DeferredError when a window is spent."""
        ...

    def check(self, calls: int) -> None:
        """DeferredError, before any call, when the known budget holds fewer than `calls` calls."""
        ...

    def limits_seen(self, changes: dict[str, Any], *, status: int) -> None:
        """Keep what an answer's X-RateLimit-* headers told (and `last_success_at` on a success), where it tells
        more than the budget's own count (a 429 always)."""
        ...


class CallCounter(Protocol):
    """Counts the answered calls (per division and day) for the metrics and the sync log's chart."""

    def count(self, *, path: str, status: int, daily_limit: int | None) -> None: ...

    def flush(self) -> None:
        """Write the counts kept so far (a counter may keep a booking's counts until its client closes)."""
        ...


@dataclass(frozen=True)
class ExactAccess:
    """Everything an ExactClient receives for one connection besides the HTTP transport."""

    base_url: str  # the region's root, e.g. https://start.exactonline.nl
    tokens: TokenSource
    budget: CallBudget
    counter: CallCounter
