"""Fault injection and the per-token rate limit (500 requests per sliding 5 minutes)."""

from __future__ import annotations

import fnmatch
import math
import uuid
from collections import deque

from sandbox.eduframe.errors import ValidationFailed
from sandbox.eduframe.records import locked

FAULT_KINDS = ("429", "500", "503", "timeout", "bad_link", "expired_token")


def fault_matches(pattern: str, method: str, path: str) -> bool:
    """Match "GET /invoices/*", "/invoices*" or "*" against a path relative to /api/v1."""
    if " " in pattern:
        wanted_method, pattern = pattern.split(" ", 1)
        if wanted_method.upper() != method.upper():
            return False
    return fnmatch.fnmatchcase(path, pattern)


class FaultMixin:
    """Faults are consumed one request at a time; the rate limit counts on the simulated clock."""

    def _init_faults(self) -> None:
        self.faults: list[dict] = []
        self.rate_limit: int | None = 500
        self.rate_window = 300
        self.timeout_seconds = 15.0  # longer than any sane client timeout
        self._hits: dict[str, deque] = {}

    @locked
    def inject_fault(self, endpoint_pattern: str, kind: str, count: int = 1, seconds: float | None = None) -> dict:
        """Make the next `count` matching requests fail as `kind`; `seconds` is Retry-After or the delay."""
        if kind not in FAULT_KINDS:
            raise ValidationFailed("Validation failed", {"kind": [f"must be one of {', '.join(FAULT_KINDS)}"]})
        fault = {"id": str(uuid.uuid4()), "pattern": endpoint_pattern, "kind": kind, "remaining": int(count)}
        fault["seconds"] = seconds
        self.faults.append(fault)
        return fault

    @locked
    def clear_faults(self) -> None:
        self.faults.clear()

    @locked
    def take_fault(self, method: str, path: str, kinds: tuple[str, ...]) -> dict | None:
        """Consume and return the first live fault of one of `kinds` that matches this request."""
        for fault in self.faults:
            if fault["kind"] in kinds and fault["remaining"] > 0 and fault_matches(fault["pattern"], method, path):
                fault["remaining"] -= 1
                return dict(fault)
        return None

    @locked
    def check_rate(self, key: str) -> int | None:
        """Count one request for `key`; return Retry-After seconds when it is over the limit."""
        if self.rate_limit is None:
            return None
        now = self.clock.now().timestamp()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.rate_window:
            hits.popleft()
        if len(hits) >= self.rate_limit:
            return max(1, math.ceil(hits[0] + self.rate_window - now))
        hits.append(now)
        return None
