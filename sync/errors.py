"""The error hierarchy shared by both API clients (fixed in docs/architecture.md).

Only RetryableError is retried automatically. FunctionalError parks an invoice until something relevant
changes; AuthError pauses the installation until the administrator reconnects.
"""

from __future__ import annotations

import math


class SyncError(Exception):
    """Base of every sync error; `.message` is plain words for the sync log."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RetryableError(SyncError):
    """Timeouts, connection errors, 5xx without a business message, 429: try again later."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class DeferredError(RetryableError):
    """The work may not run now (a rate-limit budget is spent): it runs again at `not_before`, no call wasted.

    `waiting_for` names what it waits for (WAIT_* below); the worker takes other work meanwhile, it never sleeps.
    """

    def __init__(self, message: str, *, not_before, waiting_for: str):
        from django.utils import timezone

        # Whole seconds, rounded up: retrying a moment early only earns the same refusal.
        super().__init__(message, retry_after=float(max(0, math.ceil((not_before - timezone.now()).total_seconds()))))
        self.not_before = not_before
        self.waiting_for = waiting_for


# What deferred work waits for (InvoiceRecord.waiting_for holds these).
WAIT_EXACT_MINUTE = "exact_minute"
WAIT_EXACT_DAY = "exact_day"
WAIT_EDUFRAME = "eduframe"


class AmbiguousError(RetryableError):
    """The request was sent and may have been committed: look up before re-creating."""


class AuthError(SyncError):
    """The credentials were refused: the connection needs reconnecting."""


class TokensUnreadable(AuthError):
    """A stored token that no key of TOKEN_ENCRYPTION_KEY decrypts (a process started with a wrong key, or a key
    dropped too early): nothing was refused, so nothing is marked on the connection; the work waits for the key.
    `exact` tells whose token: Exact Online's connection, or else the Eduframe credentials."""

    def __init__(self, message: str, *, exact: bool):
        super().__init__(message)
        self.exact = exact


class FunctionalError(SyncError):
    """Validation or business error; for Exact, the message is Exact's own text word for word."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFoundError(FunctionalError):
    """404 on a by-key GET."""


class NeedsDecision(FunctionalError):
    """Not Exact's refusal but ours: the invoice waits until an administrator decides (e.g. which account)."""

    def __init__(self, message: str, fix_hint: str):
        super().__init__(message)
        self.fix_hint = fix_hint
