"""The Security page (sign-ins, the sync's Eduframe credentials, the webhook secret), signing out, the audit log."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from plugin.decorators import installation_required
from plugin.forms import ApiTokenForm
from plugin.selectors import connection_get
from plugin.services.admin_sessions import session_sign_out, sessions_active, sessions_sign_out_everywhere
from plugin.services.audit import audit_entries, audit_record
from plugin.services.install import (
    SCOPE_CONSEQUENCES,
    EduframeCredentials,
    InstallRefused,
    credentials_replace,
    webhook_secret_rotate,
)
from plugin.services.key_check import keys_disagree
from plugin.views.install import replace_oauth_start


def _page(request, token_form=None, status=200):
    installation = request.installation
    context = {
        "sessions": sessions_active(installation=installation),
        "current_key": request.session.session_key,
        "oauth": bool(settings.EDUFRAME_CLIENT_ID),
        "token_form": token_form or ApiTokenForm(),
        "scopes": SCOPE_CONSEQUENCES,
        "keys_disagree": keys_disagree(installation=installation, connection=connection_get(installation=installation)),
    }
    return render(request, "plugin/security/security.html", context, status=status)


@require_GET
@installation_required
def security_page(request):
    return _page(request)


@require_POST
@installation_required
def eduframe_credentials(request):
    """Replace the Eduframe credentials the sync runs on: a pasted token, or a new Eduframe OAuth sign-in."""
    if settings.EDUFRAME_CLIENT_ID:
        return replace_oauth_start(request, request.installation)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, token_form=form, status=400)
    credentials = EduframeCredentials(access_token=form.cleaned_data["token"])
    try:
        request.installation = credentials_replace(installation=request.installation, credentials=credentials)
    except InstallRefused as exc:
        for message in exc.messages:
            form.add_error("token", message)
        return _page(request, token_form=form, status=400)
    audit_record(request=request, action="Eduframe credentials replaced", summary="With a new Eduframe API token.")
    messages.success(request, "The sync now runs on the new Eduframe API token.")
    return redirect("security")


@require_POST
@installation_required
def webhook_secret(request):
    try:
        warning = webhook_secret_rotate(installation=request.installation)
    except InstallRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("security")
    audit_record(request=request, action="Webhook secret rotated", summary="New webhook registered on Eduframe.")
    messages.success(request, "The webhook has a new secret and is registered again on Eduframe; the old URL is gone.")
    if warning:
        messages.warning(request, warning)
    return redirect("security")


@require_POST
@installation_required
def sign_out(request):
    audit_record(request=request, action="Signed out")
    session_sign_out(request=request)
    request.installation = None
    return render(request, "plugin/security/signed_out.html", {"everywhere": False})


@require_POST
@installation_required
def sign_out_everywhere(request):
    installation = request.installation
    # Recorded first: afterwards this browser's sign-in, the "who", is gone.
    audit_record(request=request, action="Signed out everywhere")
    count = sessions_sign_out_everywhere(installation=installation)
    request.session.flush()
    request.installation = None
    return render(request, "plugin/security/signed_out.html", {"everywhere": True, "count": count})


@require_GET
@installation_required
def audit_log(request):
    return render(request, "plugin/security/audit.html", {"entries": audit_entries(installation=request.installation)})
