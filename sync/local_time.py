"""Moments written into texts an administrator reads (reasons, report details, mails): in local time.

The pages render stored moments in settings.TIME_ZONE; a time written into a stored text must say the same, or
the log shows "trying again at 13:05 UTC" beside a wait that ends "at about 14:05". A moment on another local day
than today carries its date.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def local_clock(when: datetime, *, seconds: bool = False, now: datetime | None = None) -> str:
    """ "14:05" ("14:05:03" with seconds) in local time; "3 Jan 14:05" when not today (local)."""
    local = timezone.localtime(when)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    if local.date() == timezone.localtime(now or timezone.now()).date():
        return clock
    return f"{local.day} {local:%b} {clock}"


def local_stamp(when: datetime) -> str:
    """ "2026-03-14 14:05" in local time, for a moment given with its date."""
    return f"{timezone.localtime(when):%Y-%m-%d %H:%M}"
