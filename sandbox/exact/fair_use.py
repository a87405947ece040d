"""Exact's fair-use cap per contract [C S1]: 20,000 calls a day in total across every app
of one Exact contract (licence); a Premium licence allows 30,000 a day with no per-app restriction.

Counted per (licence, day) after the per-app limits let a call through; over the cap the answer is an empty
429 with the daily headers naming the contract's cap (the refusal's shape is unknown [U]).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import ApiError

STANDARD_CAP = 20_000
PREMIUM_CAP = 30_000


@dataclass
class FairUse:
    contract_daily_limit: int = STANDARD_CAP
    counts: dict = field(default_factory=lambda: defaultdict(int))  # (licence, day) -> calls

    def _day(self, now: datetime, tz: str) -> tuple:
        local = now.astimezone(ZoneInfo(tz))
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.date(), start + timedelta(days=1)

    def count(self, licence: str, now: datetime, tz: str) -> None:
        """Count one call of the contract, or raise the 429 once the day's cap is used."""
        day, next_day = self._day(now, tz)
        if self.counts[(licence, day)] >= self.contract_daily_limit:
            headers = {
                "X-RateLimit-Limit": str(self.contract_daily_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(next_day.timestamp() * 1000)),
            }
            raise ApiError(429, "", headers, body="")
        self.counts[(licence, day)] += 1

    def consume(self, licence: str, now: datetime, tz: str, calls: int) -> None:
        """Calls made by the contract's other apps."""
        day, _ = self._day(now, tz)
        self.counts[(licence, day)] += calls
