"""Installing the plugin for one Eduframe tenant: check the Eduframe credentials, create or reopen the
installation, register our webhook once, bind the browser session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from plugin.models import Installation
from sync.eduframe.client import EduframeClient
from sync.errors import AuthError, FunctionalError, RetryableError, SyncError

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
    probe = Installation(educator_slug=educator_slug, eduframe_auth=credentials.auth)
    probe.eduframe_access_token = credentials.access_token
    client = EduframeClient(probe)
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


def installation_install(*, educator_slug: str, credentials: EduframeCredentials) -> Installation:
    """Check the credentials, then create or reopen the installation and make sure our webhook exists."""
    educator = credentials_check(educator_slug=educator_slug, credentials=credentials)
    # One transaction: when the webhook cannot be registered, nothing is installed.
    with transaction.atomic():
        installation, _ = Installation.objects.select_for_update().get_or_create(educator_slug=educator_slug)
        installation.educator_name = educator.name or installation.educator_name
        installation.eduframe_educator_id = educator.id
        installation.eduframe_tenant_id = educator.tenant_id or installation.eduframe_tenant_id
        installation.eduframe_auth = credentials.auth
        installation.eduframe_access_token = credentials.access_token
        installation.eduframe_refresh_token = credentials.refresh_token
        installation.eduframe_token_expires_at = credentials.expires_at
        installation.eduframe_auth_error = ""
        installation.is_active = True
        installation.save()
        webhook_ensure(installation=installation)
    return installation


def webhook_url(*, installation: Installation) -> str:
    """The URL Eduframe posts this installation's invoice events to."""
    path = reverse("eduframe-webhook", args=[installation.pk, installation.webhook_secret])
    return f"{settings.PUBLIC_URL}{path}"


def webhook_ensure(*, installation: Installation) -> str:
    """Register our webhook on Eduframe unless it is already there; return and store its id."""
    url = webhook_url(installation=installation)
    client = EduframeClient(installation)
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


def session_bind(*, request, installation: Installation) -> None:
    """Bind the browser session to the installation, under a new session key (no fixation)."""
    request.session.cycle_key()
    request.session["installation_id"] = installation.pk
