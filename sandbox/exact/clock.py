"""The sandbox clock: real time plus an offset, or frozen, so tests can move time on purpose."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """`now()` is an aware UTC datetime; `advance(seconds)` moves it forward (tests, demo)."""

    def __init__(self, frozen_at: datetime | None = None):
        self._lock = threading.Lock()
        self._frozen_at = frozen_at
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at `at` (default: now), so minute and day boundaries are predictable."""
        moment = at or self.now()
        with self._lock:
            self._frozen_at = moment.astimezone(UTC)
            self._offset = timedelta(0)
