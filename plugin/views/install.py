"""The install flow, started by Eduframe's "Click to install": `GET /install/?educator=<slug>`.

With EDUFRAME_CLIENT_ID set, the administrator signs in with Eduframe (OAuth); otherwise they paste an
Eduframe API token. The first time this installs (stores the sync's credentials, registers the webhook);
afterwards it only signs the browser in, and the browser goes on to connect Exact Online. The same OAuth
callback also serves the Security page's "replace the sync's Eduframe credentials" (purpose "replace"). The view sequence follows healthchecks' integrations: state in the session,
popped and compared on the callback (403), access_denied -> message, no code -> 400.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from plugin.decorators import require_setting
from plugin.forms import ApiTokenForm
from plugin.models import Installation
from plugin.selectors import connection_get, installation_from_session
from plugin.services.admin_sessions import session_bind
from plugin.services.audit import audit_record
from plugin.services.install import (
    SCOPE_CONSEQUENCES,
    EduframeCredentials,
    InstallRefused,
    SignIn,
    credentials_replace,
    installation_sign_in,
)
from plugin.views.exact import exact_authorize_redirect
from sync.eduframe import oauth as eduframe_oauth
from sync.errors import SyncError

SESSION_KEY = "eduframe_install"
API_TOKEN, OAUTH = Installation.EduframeAuth.API_TOKEN, Installation.EduframeAuth.OAUTH


def _bad_request(request, message: str):
    return render(request, "plugin/install/problem.html", {"message": message}, status=400)


def _finish(request, signed_in: SignIn, method: str):
    installation = signed_in.installation
    session_bind(request=request, installation=installation, method=method)
    request.installation = installation
    connection = connection_get(installation=installation)
    # Eduframe's article: after "Click to install" the administrator is forwarded to Exact Online. Only the
    # region, when EXACT_BASE_URL does not fix the host, needs our own page first.
    forward = bool(settings.EXACT_BASE_URL) and (connection is None or not connection.is_usable)
    if signed_in.installed:
        audit_record(request=request, action="Installed", summary="Eduframe credentials stored, webhook registered.")
        then = "" if forward else " Now connect Exact Online."
        messages.success(request, f"EduExact is installed for {installation}.{then}")
    else:
        audit_record(request=request, action="Signed in")
        messages.success(request, f"Signed in to EduExact for {installation}.")
    return exact_authorize_redirect(request) if forward else redirect("exact-connect")


def _redirect_uri() -> str:
    return f"{settings.PUBLIC_URL}{reverse('install-callback')}"


@require_http_methods(["GET", "POST"])
def install(request):
    educator = request.GET.get("educator", "").strip()
    if not educator:
        return _bad_request(request, "The link lacks the Eduframe educator: open EduExact from Eduframe's plugin page.")
    if settings.EDUFRAME_CLIENT_ID:
        return _install_oauth_start(request, educator)
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        credentials = EduframeCredentials(access_token=form.cleaned_data["token"])
        try:
            return _finish(request, installation_sign_in(educator_slug=educator, credentials=credentials), API_TOKEN)
        except InstallRefused as exc:
            for message in exc.messages:
                form.add_error("token", message)
    context = {"form": form, "educator": educator, "scopes": SCOPE_CONSEQUENCES}
    return render(request, "plugin/install/token.html", context)


def _install_oauth_start(request, educator: str, purpose: str = "sign_in"):
    state = secrets.token_urlsafe()
    request.session[SESSION_KEY] = {"state": state, "educator": educator, "purpose": purpose}
    url = eduframe_oauth.authorization_url(redirect_uri=_redirect_uri(), state=state, scopes=list(SCOPE_CONSEQUENCES))
    return redirect(url)


@require_GET
@require_setting("EDUFRAME_CLIENT_ID")
def install_callback(request):
    pending = request.session.pop(SESSION_KEY, None) or {}
    if not pending.get("state") or request.GET.get("state") != pending["state"]:
        return HttpResponseForbidden("The sign-in with Eduframe could not be verified (state mismatch). Start again.")
    if request.GET.get("error") == "access_denied":
        messages.warning(request, "You did not allow EduExact to read your Eduframe data; nothing was installed.")
        return render(request, "plugin/install/problem.html", {"message": "Installation cancelled."})
    code = request.GET.get("code")
    if not code:
        return _bad_request(request, "Eduframe sent no authorization code back.")
    try:
        tokens = eduframe_oauth.exchange_code(code=code, redirect_uri=_redirect_uri())
        credentials = EduframeCredentials(
            access_token=tokens.access_token,
            auth=OAUTH,
            refresh_token=getattr(tokens, "refresh_token", "") or "",
            expires_at=getattr(tokens, "expires_at", None),
        )
        if pending.get("purpose") == "replace":
            return _replace_with_oauth(request, pending, credentials)
        signed_in = installation_sign_in(educator_slug=pending["educator"], credentials=credentials)
    except SyncError as exc:
        return _bad_request(request, f"Eduframe refused the sign-in: {exc.message}")
    except InstallRefused as exc:
        return render(request, "plugin/install/problem.html", {"messages_list": exc.messages}, status=400)
    return _finish(request, signed_in, OAUTH)


def _replace_with_oauth(request, pending: dict, credentials: EduframeCredentials):
    """The Security page's replacement, back from Eduframe's consent: only for the signed-in installation."""
    installation = installation_from_session(session=request.session)
    if installation is None or installation.educator_slug != pending["educator"]:
        return HttpResponseForbidden("Sign in to this installation before replacing its Eduframe credentials.")
    request.installation = credentials_replace(installation=installation, credentials=credentials)
    audit_record(request=request, action="Eduframe credentials replaced", summary="With a new Eduframe OAuth sign-in.")
    messages.success(request, "The sync now runs on the new Eduframe credentials.")
    return redirect("security")


def replace_oauth_start(request, installation):
    """Send the administrator to Eduframe's consent page to replace the sync's credentials."""
    return _install_oauth_start(request, installation.educator_slug, purpose="replace")
