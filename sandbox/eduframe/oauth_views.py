"""/login/oauth2/auth (consent page) and /login/oauth2/token, shaped like Canvas [C S1 for the URLs; I for the rest]."""

from __future__ import annotations

import base64
import html
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from sandbox.eduframe.auth import ALL_SCOPES, OAuthError, parse_scopes
from sandbox.eduframe.http import json_response

CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p>{client} asks for access to {educator}: {scopes}.</p>
<form method="post" action="/login/oauth2/auth">
{hidden}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
"""
AUTH_FIELDS = ("client_id", "redirect_uri", "response_type", "state", "scope")


def with_query(url: str, params: dict) -> str:
    params = {key: value for key, value in params.items() if value is not None}
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def oauth_error(exc: OAuthError) -> Response:
    return json_response({"error": exc.error, "error_description": exc.description}, exc.status)


def authorize(state, request) -> Response:
    """GET shows the consent page (or approves at once with auto_approve); POST carries the decision."""
    params = request.form if request.method == "POST" else request.args
    fields = {name: params.get(name) for name in AUTH_FIELDS}
    try:
        client = state.check_authorize_request(fields["client_id"], fields["redirect_uri"])
    except OAuthError as exc:
        return oauth_error(exc)  # never redirect to an unverified redirect_uri
    if fields["response_type"] != "code":
        return redirect(
            with_query(fields["redirect_uri"], {"error": "unsupported_response_type", "state": fields["state"]})
        )
    if request.method == "POST" or state.auto_approve:
        approved = state.auto_approve if request.method == "GET" else request.form.get("decision") == "approve"
        return decide(state, fields, approved)
    return consent_page(state, client, fields)


def decide(state, fields: dict, approved: bool) -> Response:
    if not approved:
        return redirect(with_query(fields["redirect_uri"], {"error": "access_denied", "state": fields["state"]}))
    code = state.issue_code(fields["client_id"], fields["redirect_uri"], requested_scopes(state, fields["scope"]))
    return redirect(with_query(fields["redirect_uri"], {"code": code, "state": fields["state"]}))


def requested_scopes(state, scope: str | None) -> list[str]:
    """The token carries exactly the requested scopes; asking for none grants all of them."""
    return parse_scopes(scope) or list(ALL_SCOPES)


def consent_page(state, client: dict, fields: dict) -> Response:
    title = f"Authorize {client['name']} for {state.educator['name']}"
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value or "", quote=True)}">'
        for name, value in fields.items()
    )
    page = CONSENT_PAGE.format(
        title=html.escape(title),
        client=html.escape(client["name"]),
        educator=html.escape(state.educator["name"]),
        scopes=html.escape(", ".join(parse_scopes(fields["scope"])) or "all scopes"),
        hidden=hidden,
    )
    return Response(page, content_type="text/html; charset=utf-8")


def client_credentials(request) -> tuple[str | None, str | None]:
    """Client authentication by HTTP Basic or by client_id/client_secret in the form."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except ValueError:
            return None, None
    params = request.form if request.form else (request.get_json(silent=True) or {})
    return params.get("client_id"), params.get("client_secret")


def token(state, request) -> Response:
    params = request.form if request.form else (request.get_json(silent=True) or {})
    client_id, secret = client_credentials(request)
    grant = params.get("grant_type")
    try:
        if grant == "authorization_code":
            body = state.exchange_code(client_id, secret, params.get("code"), params.get("redirect_uri"))
        elif grant == "refresh_token":
            body = state.refresh(client_id, secret, params.get("refresh_token"))
        else:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")
    except OAuthError as exc:
        return oauth_error(exc)
    return json_response(body, headers={"Cache-Control": "no-store"})


def handle(state, request) -> Response:
    if request.path == "/login/oauth2/auth" and request.method in ("GET", "POST"):
        return authorize(state, request)
    if request.path == "/login/oauth2/token" and request.method == "POST":
        return token(state, request)
    return json_response({"error": "not_found", "error_description": "Unknown OAuth endpoint"}, 404)
