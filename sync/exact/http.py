"""HTTP plumbing of the Exact client: JSON encoding, error and rate-limit parsing (the HTTP factory is
`sync.http_common.make_http_client`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import httpx

from sync.errors import (
    WAIT_EXACT_DAY,
    WAIT_EXACT_MINUTE,
    AmbiguousError,
    DeferredError,
    FunctionalError,
    NotFoundError,
    RetryableError,
    SyncError,
)

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_CENT = Decimal("0.01")


def exact_json(value) -> bytes:
    """Serialise a payload for Exact: Decimals as numbers with 2 decimals, dates as YYYY-MM-DD, UUIDs as text."""
    return _encode(value).encode()


def _encode(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))
    if isinstance(value, datetime):
        return json.dumps(value.replace(tzinfo=None).isoformat(timespec="seconds"))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, UUID):
        return json.dumps(str(value))
    return json.dumps(value)


def exact_message(response: httpx.Response) -> str | None:
    """Return Exact's own error text (`error.message.value`), word for word, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    try:
        value = body["error"]["message"]["value"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and value.strip() else None


# Texts of Exact's unhandled failures (not business rules): on a write the change may have been made.
GENERIC_FAILURES = ("an error has occurred", "an unexpected error", "internal server error", "object reference")


def _is_generic_failure(message: str) -> bool:
    return any(text in message.lower() for text in GENERIC_FAILURES)


def error_for(response: httpx.Response, method: str) -> SyncError:
    """Map an unsuccessful Exact answer onto our error classes."""
    status = response.status_code
    message = exact_message(response)
    if status == 404:
        return NotFoundError(message or "Exact Online does not know this record.", status=404)
    if status == 429:
        return rate_limited(response)
    if status >= 500:
        # Exact answers business validation errors as 500 with its message; those will not heal by retrying.
        if message and status not in (502, 503, 504) and not _is_generic_failure(message):
            return FunctionalError(message, status=status)
        text = f"Exact Online failed ({status})" + (f": {message}" if message else ".")
        return AmbiguousError(text) if method in WRITE_METHODS else RetryableError(text)
    return FunctionalError(message or f"Exact Online refused the request ({status}).", status=status)


def transport_error_for(exc: httpx.TransportError, method: str) -> RetryableError:
    """Map a connection failure: a write that may have reached Exact is ambiguous."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # Nothing was sent: safe to retry as is.
        return RetryableError("Exact Online could not be reached.")
    if method in WRITE_METHODS:
        return AmbiguousError("The answer of Exact Online was lost; the change may have been made.")
    return RetryableError("Exact Online did not answer in time.")


@dataclass(frozen=True)
class RateLimits:
    """The X-RateLimit-* headers of one answer (resets are epoch milliseconds)."""

    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_reset_at: datetime | None = None
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset_at: datetime | None = None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimits:
        named = dict(headers.items())  # one pass over the headers, names in lower case (each get() is a pass)
        return cls(
            daily_limit=_int(named.get("x-ratelimit-limit")),
            daily_remaining=_int(named.get("x-ratelimit-remaining")),
            daily_reset_at=_epoch_ms(named.get("x-ratelimit-reset")),
            minutely_limit=_int(named.get("x-ratelimit-minutely-limit")),
            minutely_remaining=_int(named.get("x-ratelimit-minutely-remaining")),
            minutely_reset_at=_epoch_ms(named.get("x-ratelimit-minutely-reset")),
        )

    def changes(self) -> dict:
        """Return the connection fields these headers set (absent headers leave fields alone)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def rate_limited(response: httpx.Response) -> RetryableError:
    """A 429: deferred to the reset of the window it names (Exact sends only the exceeded limit's headers).

    A 429 was not processed, so whatever it refused may simply be sent again after that reset. Without a
    reset header there is no moment to wait for: an ordinary retry with backoff.
    """
    limits = RateLimits.from_headers(response.headers)
    now = datetime.now(UTC)
    windows = (
        (limits.minutely_reset_at, "Exact Online's per-minute call limit is reached.", WAIT_EXACT_MINUTE),
        (limits.daily_reset_at, "Exact Online's daily call limit is reached.", WAIT_EXACT_DAY),
    )
    for reset, message, waiting_for in windows:
        if reset is not None and reset > now:
            return DeferredError(message, not_before=reset, waiting_for=waiting_for)
    return RetryableError("Exact Online's rate limit is reached.")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _epoch_ms(value: str | None) -> datetime | None:
    number = _int(value)
    return None if number is None else datetime.fromtimestamp(number / 1000, tz=UTC)
