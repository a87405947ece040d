"""The Exact access token of a connection: refreshed at most once at a time per installation.

Exact rotates the refresh token on every refresh and refuses a refresh within 570 s of the previous
one, so two workers refreshing together kill the connection. The refresh therefore runs under the row
lock on the connection, re-reading the tokens inside it (`token_lock.py`, shared with Eduframe's tokens).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from django.db import transaction
from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.token_lock import expires_soon, reread_locked
from sync.errors import AmbiguousError, AuthError, RetryableError, TokensUnreadable
from sync.exact import oauth
from sync.exact.regions import exact_base_url

REFRESH_NOT_BEFORE_SECONDS = 570
UNREADABLE_MESSAGE = "The stored Exact Online connection cannot be decrypted with the configured encryption key."
RECONNECT_MESSAGE = "Exact Online refused the connection's refresh token; reconnect Exact Online on the settings page."
_TOKEN_FIELDS = ("access_token", "refresh_token", "access_expires_at", "tokens_issued_at", "status")


def access_token_for(
    connection: ExactConnection,
    *,
    rejected_token: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Return a usable access token, refreshing it under the row lock when it is (nearly) expired.

    `rejected_token` is a token Exact just answered 401 to: it is not used again.
    """
    if connection.tokens_unreadable:
        # Not a refusal: the connection stays as it is (a restored key opens it again), no refresh is tried.
        raise TokensUnreadable(UNREADABLE_MESSAGE, exact=True)
    if _fresh(connection, rejected_token):
        return connection.access_token
    with transaction.atomic():
        outcome = _token_under_lock(connection, rejected_token, transport)
    # Errors are raised after the commit: raising inside would roll back what they marked on the row.
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _token_under_lock(connection: ExactConnection, rejected_token: str | None, transport) -> str | Exception:
    """Inside the row lock: the token, or the error to raise once the marks on the row are committed."""
    reread_locked(connection, _TOKEN_FIELDS)
    if _fresh(connection, rejected_token):
        return connection.access_token
    if not connection.is_usable:
        return AuthError(connection.last_error or RECONNECT_MESSAGE)
    wait = _seconds_until_refresh_allowed(connection)
    if wait > 0:
        if _valid(connection) and connection.access_token != rejected_token:
            return connection.access_token
        _forget_rejected(connection, rejected_token)
        if rejected_token:
            message = (
                f"Exact Online refused the access token; it allows a new one in {round(wait)} s, then EduExact retries."
            )
        else:
            message = "Exact Online does not yet allow a new access token."
        return RetryableError(message, retry_after=wait)
    try:
        token_set = _refresh_recovering_lost_answer(connection, transport)
    except AuthError as exc:
        _mark_needs_reconnect(connection)
        error = AuthError(RECONNECT_MESSAGE)
        error.__cause__ = exc
        return error
    _save_tokens(connection, token_set)
    return connection.access_token


def _forget_rejected(connection: ExactConnection, rejected_token: str | None) -> None:
    """Mark a token Exact refused as expired for every process: they wait for the refresh instead of
    each earning a 401 of their own (401s count toward Exact's 10 errors an hour per endpoint)."""
    if rejected_token and connection.access_token == rejected_token and _valid(connection):
        connection.access_expires_at = timezone.now()
        connection.save(update_fields=["access_expires_at", "updated_at"])


def store_new_tokens(connection: ExactConnection, token_set: oauth.TokenSet, me=None) -> ExactConnection:
    """Save a fresh token pair (after the OAuth callback) and mark the connection connected."""
    _apply(connection, token_set)
    connection.status = ExactConnection.Status.CONNECTED
    connection.last_error = ""
    connection.last_error_at = None
    if me is not None:
        connection.exact_user_id = str(me.user_id)
        connection.exact_user_name = me.full_name
        connection.exact_user_email = me.email
    connection.save()
    return connection


def _fresh(connection: ExactConnection, rejected_token: str | None) -> bool:
    if not connection.access_token or connection.access_token == rejected_token:
        return False
    if connection.status != ExactConnection.Status.CONNECTED or connection.access_expires_at is None:
        return False
    return not expires_soon(connection.access_expires_at)


def _valid(connection: ExactConnection) -> bool:
    expires_at = connection.access_expires_at
    return bool(connection.access_token) and expires_at is not None and expires_at > timezone.now()


def _seconds_until_refresh_allowed(connection: ExactConnection) -> float:
    if connection.tokens_issued_at is None:
        return 0.0
    allowed_at = connection.tokens_issued_at + timedelta(seconds=REFRESH_NOT_BEFORE_SECONDS)
    return max(0.0, (allowed_at - timezone.now()).total_seconds())


def _refresh_recovering_lost_answer(connection: ExactConnection, transport) -> oauth.TokenSet:
    """Refresh; when the answer was lost, try once more with the stored token (it may have rotated)."""
    base_url = exact_base_url(connection.base_url)
    try:
        return oauth.refresh(base_url=base_url, refresh_token=connection.refresh_token, transport=transport)
    except AmbiguousError:
        pass
    try:
        return oauth.refresh(base_url=base_url, refresh_token=connection.refresh_token, transport=transport)
    except oauth.TooEarlyError as exc:
        # Exact did issue tokens to the lost answer: our refresh token is spent.
        raise AuthError(RECONNECT_MESSAGE) from exc


def _apply(connection: ExactConnection, token_set: oauth.TokenSet) -> None:
    connection.access_token = token_set.access_token
    connection.refresh_token = token_set.refresh_token
    connection.access_expires_at = token_set.expires_at
    connection.tokens_issued_at = token_set.issued_at


def _save_tokens(connection: ExactConnection, token_set: oauth.TokenSet) -> None:
    _apply(connection, token_set)
    connection.save(
        update_fields=["access_token", "refresh_token", "access_expires_at", "tokens_issued_at", "updated_at"]
    )


def _mark_needs_reconnect(connection: ExactConnection, message: str = RECONNECT_MESSAGE) -> None:
    connection.status = ExactConnection.Status.NEEDS_RECONNECT
    connection.last_error = message
    connection.last_error_at = timezone.now()
    connection.save(update_fields=["status", "last_error", "last_error_at", "updated_at"])


def connection_refused(connection: ExactConnection, message: str) -> AuthError:
    """Mark the connection needs-reconnect (committed at once) and return the AuthError to raise.

    For refusals no new token can cure (a 403 "Wrong Division"): every later booking then stops before calling
    Exact, instead of earning answers that count toward Exact's 10 errors an hour per endpoint.
    """
    _mark_needs_reconnect(connection, message)
    return AuthError(message)


REFUSED_AGAIN = (
    "Exact Online refused a new access token too (the Exact user may have lost access to the division); "
    "EduExact asks for another one when Exact allows it, in {seconds} s. If this keeps happening, reconnect "
    "Exact Online on the settings page with a user who may book in the division."
)


def token_refused_again(connection: ExactConnection, token: str) -> RetryableError:
    """A token refused right after it was checked or refreshed: forget it everywhere and wait for the next one.

    Not a disconnect: only a refused refresh token is that. Every process then waits for the refresh Exact
    allows (570 s after the last), so this costs one 401 per token, never a stream of them.
    """
    with transaction.atomic():
        reread_locked(connection, _TOKEN_FIELDS)
        _forget_rejected(connection, token)
    wait = max(1.0, _seconds_until_refresh_allowed(connection))
    return RetryableError(REFUSED_AGAIN.format(seconds=round(wait)), retry_after=wait)
