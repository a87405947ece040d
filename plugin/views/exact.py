"""Connecting Exact Online: authorize (state in the session), callback, division choice, disconnect."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from plugin.decorators import installation_required
from plugin.forms import ConnectExactForm, DivisionForm
from plugin.selectors import connection_get, settings_get
from plugin.services.audit import audit_record
from plugin.services.exact_connection import (
    ConnectionRefused,
    division_choose,
    divisions_list,
    exact_authorize_url,
    exact_connection_complete,
    exact_connection_disconnect,
)

SESSION_KEY = "exact_oauth"


@require_http_methods(["GET", "POST"])
@installation_required
def connect(request):
    """GET: explain and offer the button (and a region when needed); POST: go to Exact's consent page."""
    ask_region = not settings.EXACT_BASE_URL
    form = ConnectExactForm(request.POST or None) if ask_region else None
    if request.method == "POST" and (form is None or form.is_valid()):
        return exact_authorize_redirect(request, region=form.cleaned_data["region"] if form else None)
    connection = connection_get(installation=request.installation)
    return render(request, "plugin/exact/connect.html", {"form": form, "connection": connection})


def exact_authorize_redirect(request, *, region: str | None = None):
    """Send the browser to Exact's consent page; the state and the base URL wait in the session for the callback."""
    state = secrets.token_urlsafe()
    url, base_url = exact_authorize_url(region=region, state=state)
    request.session[SESSION_KEY] = {"state": state, "base_url": base_url}
    return redirect(url)


@require_GET
@installation_required
def callback(request):
    pending = request.session.pop(SESSION_KEY, None) or {}
    if not pending.get("state") or request.GET.get("state") != pending["state"]:
        return HttpResponseForbidden("The answer from Exact Online could not be verified (state mismatch).")
    if request.GET.get("error") == "access_denied":
        messages.warning(request, "You did not allow EduExact to use Exact Online; nothing was connected.")
        return redirect("settings")
    code = request.GET.get("code")
    if not code:
        return HttpResponseBadRequest("Exact Online sent no authorization code back.")
    try:
        connection = exact_connection_complete(
            installation=request.installation, base_url=pending["base_url"], code=code
        )
    except ConnectionRefused as exc:
        messages.error(request, exc.message)
        return redirect("settings")
    who = connection.exact_user_name or connection.exact_user_email
    audit_record(request=request, action="Exact Online connected", summary=f"As {who} ({connection.base_url}).")
    messages.success(request, f"Exact Online is connected as {who}. Sync resumes; nothing was lost.")
    return redirect("exact-division")


@require_http_methods(["GET", "POST"])
@installation_required
def division(request):
    connection = connection_get(installation=request.installation)
    if connection is None or not connection.is_usable:
        messages.warning(request, "Connect Exact Online first.")
        return redirect("exact-connect")
    try:
        divisions = divisions_list(connection=connection)
    except ConnectionRefused as exc:
        messages.error(request, exc.message)
        return redirect("settings")
    current = settings_get(installation=request.installation).division
    form = DivisionForm(request.POST or None, divisions=divisions, initial={"division": current})
    if request.method == "POST":
        chosen = request.POST.get("division", "")
        try:
            division_choose(installation=request.installation, connection=connection, division=int(chosen))
        except (ValueError, ConnectionRefused) as exc:
            messages.error(request, getattr(exc, "message", f"{chosen!r} is not a division code."))
        else:
            audit_record(request=request, action="Division chosen", summary=f"Division {chosen}.")
            messages.success(request, "Division saved. Now fill in the remaining settings.")
            return redirect("settings")
    return render(request, "plugin/exact/division.html", {"form": form, "divisions": divisions})


@require_POST
@installation_required
def disconnect(request):
    exact_connection_disconnect(installation=request.installation)
    audit_record(request=request, action="Exact Online disconnected")
    messages.info(request, "Exact Online is disconnected: the sync is paused until you connect again.")
    return redirect("settings")
