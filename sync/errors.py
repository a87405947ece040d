"""The error hierarchy shared by both API clients (fixed in docs/architecture.md).

Only RetryableError is retried automatically. FunctionalError parks an invoice until something relevant
changes; AuthError pauses the installation until the administrator reconnects.
"""

from __future__ import annotations


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


class AmbiguousError(RetryableError):
    """The request was sent and may have been committed: look up before re-creating."""


class AuthError(SyncError):
    """The credentials were refused: the connection needs reconnecting."""


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
