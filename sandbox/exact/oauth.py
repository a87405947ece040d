"""`/api/oauth2/auth` (consent page) and `/api/oauth2/token` (code exchange and refresh) [C S1; K S6, S7]."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import unquote, urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .faults import AFTER, drop_connection
from .tokens import TokenError

# The gateway failure seen on Exact's token endpoint (.NET SDK #152 [R S13]).
GATEWAY_FAULT = {
    "fault": {
        "faultstring": "Failed to execute the ExtractVariables: ExtractAccessToken",
        "detail": {"errorcode": "steps.extractvariables.ExecutionFailed"},
    }
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Exact Online - Authorize</title></head>
<body><main>
<h1>Exact Online (sandbox)</h1>
<p>The application <strong id="client">{client}</strong> wants access to your Exact Online data
as <strong>{user}</strong>.</p>
<form method="post" action="/api/oauth2/auth">
{hidden}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></main></body></html>"""


def _text(status: int, message: str) -> Response:
    return Response(message, status=status, mimetype="text/plain")


def _with_params(uri: str, params: dict) -> str:
    return f"{uri}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def authorize(state, request: Request) -> Response:
    source = request.form if request.method == "POST" else request.args
    client = state.clients.get(source.get("client_id", ""))
    redirect_uri = source.get("redirect_uri", "")
    if client is None:
        return _text(400, "Unknown client_id.")
    if not client.accepts_redirect(redirect_uri):
        return _text(400, "The redirect_uri does not match the one registered for this app.")
    echo = source.get("state")
    if source.get("response_type", "code") != "code":
        return redirect(_with_params(redirect_uri, {"error": "unsupported_response_type", "state": echo}))
    user = state.users.get(source.get("user_id", "")) or state.default_user()
    if user is None:
        return _text(400, "No Exact user exists in the sandbox: seed a division first.")
    if request.method == "POST" and source.get("decision") != "approve":
        return redirect(_with_params(redirect_uri, {"error": "access_denied", "state": echo}))
    if request.method == "POST" or state.auto_approve:
        country = state.request_country(request)
        code = state.tokens.new_code(client.client_id, user.user_id, redirect_uri, state.clock.now(), country)
        return redirect(_with_params(redirect_uri, {"code": code, "state": echo}))
    # `force_login` is accepted and needs nothing here: the sandbox keeps no browser session.
    return _consent_page(client.client_id, user, source)


def _consent_page(client_id: str, user, source) -> Response:
    fields = {"client_id": client_id, "redirect_uri": source.get("redirect_uri"), "user_id": user.user_id}
    fields |= {"response_type": "code", "state": source.get("state")}
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
        if value is not None
    )
    page = PAGE.format(client=html.escape(client_id), user=html.escape(user.full_name), hidden=hidden)
    return Response(page, mimetype="text/html")


def token(state, request: Request, environ) -> Response:
    kind = state.faults.take("POST", "oauth2/token")
    if kind and kind not in AFTER:
        return _fault_before(kind, environ)
    try:
        payload = _grant(state, request)
    except TokenError as error:
        return _json(error.status, error.body(), error.headers)
    if kind == "commit_then_drop":
        drop_connection(environ)  # token rotated, answer lost (.NET SDK #152 [R S13])
    if kind == "commit_then_500":
        return _json(500, GATEWAY_FAULT)
    return _json(200, payload)


def _fault_before(kind: str, environ) -> Response:
    if kind == "drop":
        drop_connection(environ)
    if kind.startswith("429"):  # the token endpoint sends no rate-limit headers
        return Response(status=429)
    return _json(int(kind), GATEWAY_FAULT)


def _grant(state, request: Request) -> dict:
    # Form-encoded only [K S6, S7]; a JSON body is refused.
    if request.mimetype != "application/x-www-form-urlencoded":
        raise TokenError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    client_id, secret = _client_credentials(request)
    client = state.clients.get(client_id or "")
    if client is None or client.client_secret != secret:
        raise TokenError(400, "invalid_client")  # exact text unknown [U]
    now, country = state.clock.now(), state.request_country(request)
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        code, redirect_uri = request.form.get("code", ""), request.form.get("redirect_uri", "")
        return state.tokens.exchange_code(client_id, code, redirect_uri, now, country)
    if grant_type == "refresh_token":
        return state.tokens.refresh(client_id, request.form.get("refresh_token", ""), now, country)
    raise TokenError(400, "unsupported_grant_type")


def _client_credentials(request: Request) -> tuple[str | None, str | None]:
    """Exact's clients post client_id/client_secret in the form [K S6, S7]; HTTP Basic is also accepted
    here because whether Exact refuses it is unknown [U]."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return request.form.get("client_id"), request.form.get("client_secret")


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")
