"""Installing the plugin for one Eduframe tenant, signing in to it, and replacing the sync's credentials.

The first install stores the Eduframe credentials the sync runs on and registers our webhook. Every later
pass through the install flow is only a sign-in: it proves the browser belongs to an administrator of the
same educator and tenant (the ids are compared with the stored ones), and changes nothing else; an
installation an operator deactivated stays deactivated. Replacing the sync's credentials is its own,
explicit and audited action on the Security page (`credentials_replace`), as is rotating the webhook secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from plugin.crypto import is_undecryptable
from plugin.models import Installation, _new_webhook_secret
from plugin.services.admin_sessions import session_bind  # noqa: F401  (its home before sign-ins were recorded)
from plugin.services.key_check import KeysDisagree, token_store_check
from sync.connections.eduframe import eduframe_client
from sync.eduframe.access import EduframeAccess
from sync.eduframe.client import EduframeClient
from sync.errors import AuthError, FunctionalError, RetryableError, SyncError
from sync.services.token_recovery import invoices_key_recover

WEBHOOK_EVENTS = ["invoice.created", "invoice.updated", "invoice.deleted"]

# What the sync cannot do without each scope, in the administrator's words.
SCOPE_CONSEQUENCES = {
    "invoices:read": "the sync cannot read invoices.",
    "relations:read": "the sync cannot read the accounts the invoices are addressed to.",
    "courses:read": "the plugin cannot read course templates and editions.",
    "settings:read": "the plugin cannot read the VAT rates and its webhook.",
    "settings:modify": "the plugin cannot register its webhook, so new invoices would not arrive.",
}


class InstallRefused(Exception):
    """The credentials cannot be used; `.messages` says why, one message per problem."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class EduframeCredentials:
    """Tokens to talk to Eduframe with: a pasted API token, or the result of the OAuth flow."""

    access_token: str
    auth: str = Installation.EduframeAuth.API_TOKEN
    refresh_token: str = ""
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"EduframeCredentials(auth={self.auth!r})"


def credentials_check(*, educator_slug: str, credentials: EduframeCredentials):
    """Ask Eduframe whose token this is and what it may do; return the educator or raise InstallRefused."""
    # Nothing is stored yet: the client gets the token itself, with no installation behind it.
    oauth = credentials.auth == Installation.EduframeAuth.OAUTH
    client = EduframeClient(EduframeAccess.for_token(credentials.access_token, oauth=oauth))
    try:
        educator = client.current_educator()
        missing = client.missing_scopes()
    except AuthError as exc:
        raise InstallRefused([f"Eduframe refused this token: {exc.message}"]) from exc
    except RetryableError as exc:
        raise InstallRefused([f"Eduframe could not be reached ({exc.message}); try again in a minute."]) from exc
    except SyncError as exc:
        raise InstallRefused([f"Eduframe answered with an error: {exc.message}"]) from exc
    if educator.slug != educator_slug:
        raise InstallRefused([f"This token belongs to {educator.slug}, not {educator_slug}."])
    if missing:
        raise InstallRefused([_scope_message(scope) for scope in missing])
    return educator


def _scope_message(scope: str) -> str:
    consequence = SCOPE_CONSEQUENCES.get(scope, "the plugin needs it.")
    return f"The token lacks {scope}: {consequence}"


DEACTIVATED = (
    "This installation was deactivated by an operator of EduExact, so it cannot be signed in to or reopened "
    "from here. Ask the operator to reactivate it."
)
OTHER_TENANT = (
    "This Eduframe token belongs to another Eduframe tenant than the one EduExact was installed for "
    "(the educator or tenant id differs); nothing was changed."
)


@dataclass(frozen=True)
class SignIn:
    installation: Installation
    # True: this was the first install and stored the credentials; False: a sign-in, nothing changed.
    installed: bool


def _identity_check(installation: Installation, educator) -> None:
    """Refuse credentials of another educator or tenant than the stored ones (when both sides know them)."""
    stored_id, stored_tenant = installation.eduframe_educator_id, installation.eduframe_tenant_id
    if stored_id is not None and educator.id is not None and int(educator.id) != stored_id:
        raise InstallRefused([OTHER_TENANT])
    if stored_tenant and educator.tenant_id and str(educator.tenant_id) != stored_tenant:
        raise InstallRefused([OTHER_TENANT])


def _has_credentials(installation: Installation) -> bool:
    token = installation.eduframe_access_token
    return bool(token) or is_undecryptable(token)


def _store_credentials(installation: Installation, educator, credentials: EduframeCredentials) -> None:
    try:
        token_store_check(f"the Eduframe credentials of {installation.educator_slug}")
    except KeysDisagree as exc:
        raise InstallRefused([exc.message]) from exc
    installation.educator_name = educator.name or installation.educator_name
    installation.eduframe_educator_id = educator.id
    installation.eduframe_tenant_id = educator.tenant_id or installation.eduframe_tenant_id
    installation.eduframe_auth = credentials.auth
    installation.eduframe_access_token = credentials.access_token
    installation.eduframe_refresh_token = credentials.refresh_token
    installation.eduframe_token_expires_at = credentials.expires_at
    installation.eduframe_auth_error = ""


def installation_sign_in(*, educator_slug: str, credentials: EduframeCredentials) -> SignIn:
    """Check the credentials; install on the first pass, else only sign in (raises InstallRefused)."""
    educator = credentials_check(educator_slug=educator_slug, credentials=credentials)
    # One transaction: when the webhook cannot be registered, nothing is installed.
    with transaction.atomic():
        installation = Installation.objects.select_for_update().filter(educator_slug=educator_slug).first()
        if installation is not None:
            _identity_check(installation, educator)
            if not installation.is_active:
                raise InstallRefused([DEACTIVATED])
            if _has_credentials(installation):
                return SignIn(installation=installation, installed=False)
        installation = installation or Installation(educator_slug=educator_slug)
        _store_credentials(installation, educator, credentials)
        installation.save()
        webhook_ensure(installation=installation)
    return SignIn(installation=installation, installed=True)


def installation_install(*, educator_slug: str, credentials: EduframeCredentials) -> Installation:
    """The installation the credentials install or sign in to (see `installation_sign_in`)."""
    return installation_sign_in(educator_slug=educator_slug, credentials=credentials).installation


def credentials_replace(*, installation: Installation, credentials: EduframeCredentials) -> Installation:
    """Make the sync run on new Eduframe credentials of the same educator and tenant; re-check our webhook."""
    educator = credentials_check(educator_slug=installation.educator_slug, credentials=credentials)
    _identity_check(installation, educator)
    with transaction.atomic():
        locked = Installation.objects.select_for_update().get(pk=installation.pk)
        _store_credentials(locked, educator, credentials)
        locked.save()
        webhook_ensure(installation=locked)
    # The invoices that waited because the old credentials could not be decrypted book now.
    invoices_key_recover(installation_id=locked.pk)
    return locked


def webhook_url(*, installation: Installation) -> str:
    """The URL Eduframe posts this installation's invoice events to."""
    path = reverse("eduframe-webhook", args=[installation.pk, installation.webhook_secret])
    return f"{settings.PUBLIC_URL}{path}"


def webhook_ensure(*, installation: Installation) -> str:
    """Register our webhook on Eduframe unless it is already there; return and store its id."""
    url = webhook_url(installation=installation)
    client = eduframe_client(installation)
    try:
        existing = [hook for hook in client.list_webhooks() if hook.url == url]
        hook_id = str(existing[0].id) if existing else str(client.create_webhook(url=url, events=WEBHOOK_EVENTS).id)
    except FunctionalError as exc:
        if exc.status == 403:
            raise InstallRefused([_scope_message("settings:modify")]) from exc
        raise InstallRefused([f"The Eduframe webhook could not be registered: {exc.message}"]) from exc
    except SyncError as exc:
        raise InstallRefused([f"The Eduframe webhook could not be registered: {exc.message}"]) from exc
    if hook_id != installation.eduframe_webhook_id:
        installation.eduframe_webhook_id = hook_id
        installation.save(update_fields=["eduframe_webhook_id", "updated_at"])
    return hook_id


def webhook_secret_rotate(*, installation: Installation) -> str:
    """Give the webhook URL a new secret: register the new URL on Eduframe, then store it, then drop the old hook.

    In that order nothing is lost: until the new secret is stored, deliveries to the new URL get a 404 and
    Eduframe delivers them again, while the old URL still works; afterwards both hooks deliver each event for a
    moment, which is harmless (the worker re-fetches the invoice). Returns a warning, or "" when all went well.
    """
    new_secret = _new_webhook_secret()
    new_url = webhook_url(installation=Installation(pk=installation.pk, webhook_secret=new_secret))
    old_url, old_hook_id = webhook_url(installation=installation), installation.eduframe_webhook_id
    with eduframe_client(installation) as client:
        try:
            hook = client.create_webhook(url=new_url, events=WEBHOOK_EVENTS)
        except SyncError as exc:
            raise InstallRefused([f"The new webhook could not be registered on Eduframe: {exc.message}"]) from exc
        Installation.objects.filter(pk=installation.pk).update(
            webhook_secret=new_secret, eduframe_webhook_id=str(hook.id)
        )
        installation.webhook_secret, installation.eduframe_webhook_id = new_secret, str(hook.id)
        try:
            stale = [h.id for h in client.list_webhooks() if h.url == old_url or str(h.id) == old_hook_id]
            for hook_id in stale:
                client.delete_webhook(str(hook_id))
        except SyncError as exc:
            return f"The old webhook could not be removed from Eduframe ({exc.message}); remove it there by hand."
    return ""
