"""The Exact Online connection of an installation: connect (OAuth), disconnect, choose the division."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from plugin.models import ExactConnection, GlobalSettings, Installation
from plugin.services.key_check import KeysDisagree, token_store_check
from sync.connections.exact import exact_client
from sync.connections.exact_tokens import store_new_tokens
from sync.errors import AuthError, RetryableError, SyncError
from sync.exact import oauth
from sync.exact.regions import exact_base_url
from sync.services.token_recovery import invoices_key_recover


class ConnectionRefused(Exception):
    """Something the administrator must know; `.message` is in their words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def exact_redirect_uri() -> str:
    """The OAuth redirect URI registered with Exact: `{PUBLIC_URL}/exact/callback`."""
    return f"{settings.PUBLIC_URL}{reverse('exact-callback')}"


def exact_authorize_url(*, region: str | None, state: str) -> tuple[str, str]:
    """Return (authorize URL, base URL) for the chosen region (or EXACT_BASE_URL when set)."""
    base_url = exact_base_url(region)
    return oauth.authorization_url(base_url=base_url, redirect_uri=exact_redirect_uri(), state=state), base_url


def exact_connection_complete(*, installation: Installation, base_url: str, code: str) -> ExactConnection:
    """Exchange the code, store the tokens encrypted, read who connected.

    A paused sync resumes by itself: sync.signals retries the held-back invoices when the status
    goes from needs_reconnect or disconnected to connected, and the invoices that waited because the stored
    tokens could not be decrypted (the status stayed connected) are queued here."""
    try:
        token_store_check(f"the Exact Online tokens of installation {installation.pk}")
    except KeysDisagree as exc:
        raise ConnectionRefused(exc.message) from exc
    try:
        token_set = oauth.exchange_code(base_url=base_url, code=code, redirect_uri=exact_redirect_uri())
    except AuthError as exc:
        raise ConnectionRefused(f"Exact Online refused the authorization: {exc.message}") from exc
    except RetryableError as exc:
        raise ConnectionRefused(f"Exact Online could not be reached ({exc.message}); try again.") from exc
    with transaction.atomic():
        connection, _ = ExactConnection.objects.select_for_update().get_or_create(
            installation=installation, defaults={"base_url": base_url}
        )
        connection.base_url = base_url
        store_new_tokens(connection, token_set)
    # Stored: the invoices that waited for readable tokens book now, even if the next step fails.
    invoices_key_recover(installation_id=installation.pk)
    me = _me(connection)
    store_new_tokens(connection, token_set, me)
    _default_division(installation, me)
    return connection


def _me(connection: ExactConnection):
    try:
        return exact_client(connection).me()
    except SyncError as exc:
        raise ConnectionRefused(f"Connected, but Exact Online did not say who you are: {exc.message}") from exc


def _default_division(installation: Installation, me) -> None:
    """Preselect the user's current division when none was chosen yet."""
    row, _ = GlobalSettings.objects.get_or_create(installation=installation)
    if row.division is None and getattr(me, "current_division", None):
        row.division = me.current_division
        row.save(update_fields=["division", "updated_at"])


def exact_connection_disconnect(*, installation: Installation) -> None:
    """Forget the tokens; the sync stops until the administrator connects again."""
    ExactConnection.objects.filter(installation=installation).update(
        access_token="",
        refresh_token="",
        access_expires_at=None,
        status=ExactConnection.Status.DISCONNECTED,
    )


def divisions_list(*, connection: ExactConnection) -> list:
    """The divisions the connected Exact user can reach."""
    try:
        return list(exact_client(connection).divisions())
    except SyncError as exc:
        raise ConnectionRefused(f"Exact Online could not list your divisions: {exc.message}") from exc


def division_check(*, connection: ExactConnection, division: int):
    """Return the division when the connected user can reach it, else raise ConnectionRefused."""
    divisions = divisions_list(connection=connection)
    for candidate in divisions:
        if candidate.code == division:
            return candidate
    reachable = ", ".join(str(d.code) for d in divisions) or "none"
    who = connection.exact_user_name or "The connected Exact Online user"
    raise ConnectionRefused(
        f"{who} has no access to division {division} in Exact Online (reachable divisions: {reachable}); "
        "choose one of those, or give this user access in Exact Online."
    )


def division_choose(*, installation: Installation, connection: ExactConnection, division: int) -> GlobalSettings:
    """Save the division after checking that the connected user can reach it."""
    found = division_check(connection=connection, division=division)
    row, _ = GlobalSettings.objects.get_or_create(installation=installation)
    row.division = found.code
    row.division_name = found.description
    row.save()
    return row
