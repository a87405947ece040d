"""A controllable clock, so tests can travel in time (expiry, rate-limit windows, token expiry)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Europe/Amsterdam")


class Clock:
    """Wall time plus an offset; `ticking=False` freezes it so snapshots are reproducible."""

    def __init__(self, start: datetime | None = None, ticking: bool = True, tz: ZoneInfo = DEFAULT_TZ):
        self.tz = tz
        self._lock = threading.Lock()
        self._base = (start or datetime.now(tz)).astimezone(tz)
        self._started = time.monotonic()
        self.ticking = ticking

    def now(self) -> datetime:
        """Return the simulated current time, timezone-aware, truncated to milliseconds."""
        with self._lock:
            elapsed = time.monotonic() - self._started if self.ticking else 0.0
            moment = self._base + timedelta(seconds=elapsed)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def today(self) -> date:
        return self.now().date()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or back, with a negative value)."""
        with self._lock:
            self._base += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment`; the clock keeps ticking from there if it was ticking."""
        with self._lock:
            self._base = moment.astimezone(self.tz)
            self._started = time.monotonic()
        return self.now()

    @contextmanager
    def frozen_at(self, moment: datetime):
        """Stop the clock at `moment` for the block, then resume where it would have been."""
        saved = (self._base, self._started, self.ticking)
        self.set(moment)
        self.ticking = False
        try:
            yield self
        finally:
            with self._lock:
                self._base, self._started, self.ticking = saved


def iso_timestamp(moment: datetime | None) -> str | None:
    """Format like Eduframe: ISO 8601 with milliseconds and offset."""
    return moment.isoformat(timespec="milliseconds") if moment else None


def iso_date(day: date | None) -> str | None:
    return day.isoformat() if day else None
