"""In-memory stand-ins for what the HTTP clients receive (tokens, call budget, counter, lookup store).

The client tests use these and need no database; the database side is tested in test_exact_connection.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.errors import AuthError, RetryableError
from sync.exact.access import ExactAccess
from sync.exact.client import ExactClient

EXACT_BASE = "https://start.exactonline.nl"


@dataclass
class MemoryTokens:
    """Hands out `current`; a rejected token is replaced by the next of `fresh` (as a refresh would)."""

    current: str = "stored-access"
    fresh: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def token(self, *, rejected: str | None = None) -> str:
        if rejected is not None:
            self.rejected.append(rejected)
            if rejected == self.current and self.fresh:
                self.current = self.fresh.pop(0)
        return self.current

    def refused_again(self, token: str) -> Exception:
        return RetryableError(f"refused again: {token}", retry_after=570)

    def refused(self, message: str) -> Exception:
        self.refusals.append(message)
        return AuthError(message)


@dataclass
class MemoryBudget:
    """Counts claims, keeps the last limits seen and every answered call."""

    claims: int = 0
    checks: list[int] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    counted: list[tuple[str, int, int | None]] = field(default_factory=list)

    def claim(self) -> None:
        self.claims += 1

    def check(self, calls: int) -> None:
        self.checks.append(calls)

    def limits_seen(self, changes: dict[str, Any], *, status: int) -> None:
        self.limits.update(changes)

    def count(self, *, path: str, status: int, daily_limit: int | None) -> None:
        self.counted.append((path, status, daily_limit))

    def flush(self) -> None:
        pass  # counted at once


@dataclass
class MemoryExact:
    """An ExactAccess with its parts at hand for the assertions."""

    tokens: MemoryTokens = field(default_factory=MemoryTokens)
    budget: MemoryBudget = field(default_factory=MemoryBudget)

    @property
    def access(self) -> ExactAccess:
        return ExactAccess(base_url=EXACT_BASE, tokens=self.tokens, budget=self.budget, counter=self.budget)

    def client(self, transport) -> ExactClient:
        return ExactClient(self.access, transport=transport)


@dataclass
class MemoryLookupStore:
    """A LookupStore in a dict."""

    rows: dict[tuple[int, str], tuple[list[dict[str, Any]], datetime]] = field(default_factory=dict)

    def read(self, division: int, kind: str, parse) -> tuple[list, datetime] | None:
        stored = self.rows.get((division, kind))
        return None if stored is None else (parse(stored[0]), stored[1])

    def write(self, division: int, kind: str, rows: list[dict[str, Any]], fetched_at: datetime, items: list) -> None:
        self.rows[(division, kind)] = (rows, fetched_at)

    def clear(self, division: int) -> None:
        for key in [key for key in self.rows if key[0] == division]:
            del self.rows[key]
