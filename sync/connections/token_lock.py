"""What refreshing Exact's and Eduframe's stored tokens have in common.

A refresh rotates the refresh token, so two workers refreshing together would lose the connection: each
refresh runs under a row lock on the row that holds the tokens (`select_for_update`; on SQLite the IMMEDIATE
transaction takes the write lock), after re-reading the tokens, which another process may have refreshed
meanwhile. A token counts as expired a minute early, so no call leaves with one that dies on the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

MIN_SECONDS_LEFT = 60


def reread_locked(row: models.Model, fields: Iterable[str]) -> None:
    """Lock the row (inside the caller's transaction) and copy its stored `fields` onto `row`."""
    locked = type(row)._default_manager.select_for_update().get(pk=row.pk)
    for field in fields:
        setattr(row, field, getattr(locked, field))


def expires_soon(expires_at: datetime | None) -> bool:
    """Does a token with this expiry have less than a minute left (None: no expiry known, so no)?"""
    return expires_at is not None and expires_at - timezone.now() < timedelta(seconds=MIN_SECONDS_LEFT)
