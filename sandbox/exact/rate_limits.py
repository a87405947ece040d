"""Exact's API limits [C S1]: 60 calls per clock minute and 5,000 per day per (app, division), headers
with epoch-millisecond resets, and the error limiter (more than 10 errors/hour/endpoint -> blocked).

`window_seconds` shortens the "minute" for benchmarks and tests (say 6 s with the limit scaled down): the
window is announced in X-RateLimit-Minutely-Reset like the real one, so a client that takes its resets from
the headers, as it must, needs no other change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import ApiError

ERROR_STATUSES = {400, 401, 403, 404}


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class RateLimiter:
    enabled: bool = True
    minutely_limit: int = 60
    # Length of the "minute" window; windows start at multiples of it since the epoch (60: clock minutes).
    window_seconds: int = 60
    daily_limit: int = 5000
    # The daily window resets at midnight; one 2024 log suggests 00:00 UTC (picqer #646) [R].
    daily_reset_tz: str = "UTC"
    error_limit: int = 10
    error_block_seconds: int = 3600
    error_block_status: int = 429
    minute_counts: dict = field(default_factory=lambda: defaultdict(int))
    day_counts: dict = field(default_factory=lambda: defaultdict(int))
    errors: dict = field(default_factory=lambda: defaultdict(list))
    blocks: dict = field(default_factory=dict)  # key -> (until, block_count)

    def _windows(self, now: datetime) -> tuple[datetime, datetime, datetime]:
        minute = self._window_start(now)
        local = now.astimezone(ZoneInfo(self.daily_reset_tz))
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return minute, day_start, day_start + timedelta(days=1)

    def _window_start(self, now: datetime) -> datetime:
        if self.window_seconds == 60:
            return now.replace(second=0, microsecond=0)
        epoch = int(now.timestamp()) // self.window_seconds * self.window_seconds
        return datetime.fromtimestamp(epoch, tz=now.tzinfo or UTC)

    def headers(self, client_id: str, division: int, now: datetime, which=("daily", "minutely")) -> dict:
        minute, day_start, next_day = self._windows(now)
        used_minute = self.minute_counts[(client_id, division, minute)]
        used_day = self.day_counts[(client_id, division, day_start.date())]
        out = {}
        if "daily" in which:
            out["X-RateLimit-Limit"] = str(self.daily_limit)
            out["X-RateLimit-Remaining"] = str(max(self.daily_limit - used_day, 0))
            out["X-RateLimit-Reset"] = str(_epoch_ms(next_day))
        if "minutely" in which:
            out["X-RateLimit-Minutely-Limit"] = str(self.minutely_limit)
            out["X-RateLimit-Minutely-Remaining"] = str(max(self.minutely_limit - used_minute, 0))
            out["X-RateLimit-Minutely-Reset"] = str(_epoch_ms(minute + timedelta(seconds=self.window_seconds)))
        return out

    def count_call(self, client_id: str, division: int, now: datetime) -> None:
        """Count one call, or raise 429 (empty body, only the exceeded limit's headers [K/R S6,S14])."""
        if not self.enabled:
            return
        minute, day_start, _ = self._windows(now)
        day_key, minute_key = (client_id, division, day_start.date()), (client_id, division, minute)
        if self.day_counts[day_key] >= self.daily_limit:
            raise ApiError(429, "", self.headers(client_id, division, now, ("daily",)), body="")
        if self.minute_counts[minute_key] >= self.minutely_limit:
            raise ApiError(429, "", self.headers(client_id, division, now, ("minutely",)), body="")
        self.day_counts[day_key] += 1
        self.minute_counts[minute_key] += 1

    def consume(self, client_id: str, division: int, now: datetime, calls: int, minutely: bool) -> None:
        """Budget used by "another process" sharing the division (picqer #646 [R S14])."""
        minute, day_start, _ = self._windows(now)
        self.day_counts[(client_id, division, day_start.date())] += calls
        if minutely:
            self.minute_counts[(client_id, division, minute)] += calls

    def check_blocked(self, key: tuple, now: datetime) -> None:
        block = self.blocks.get(key)
        if self.enabled and block and block[0] > now:
            message = (
                "API error limit exceeded: more than "
                f"{self.error_limit} errors in one hour on this endpoint. Blocked until "
                f"{block[0].astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC."
            )
            raise ApiError(self.error_block_status, message)

    def record_status(self, key: tuple, status: int, now: datetime) -> None:
        """Count 400/401/403/404 per (client, user, division, endpoint); block for an hour past the limit,
        doubling each time the block is hit again [C S1]."""
        if status not in ERROR_STATUSES or not self.enabled:
            return
        recent = [t for t in self.errors[key] if t > now - timedelta(hours=1)] + [now]
        self.errors[key] = recent
        if len(recent) > self.error_limit:
            times = self.blocks.get(key, (None, 0))[1] + 1
            self.blocks[key] = (now + timedelta(seconds=self.error_block_seconds * 2 ** (times - 1)), times)
            self.errors[key] = []
