"""The WSGI application: routing, bearer authentication, division access, rate limits, faults, logging."""

from __future__ import annotations

import re

from werkzeug.wrappers import Request, Response

from . import control, oauth
from .accounts import Accounts
from .bulk_sync import BULK_SYNC_RESOURCES, check_select_required
from .documents import DocumentAttachments, Documents
from .errors import ERROR_SEPARATOR, ApiError, BadRequest, BusinessError, error_body
from .faults import AFTER, INJECTED_429_LIMIT, DropConnection, drop_connection, injected_429
from .language import request_language, translate
from .lookups import Costcenters, Costunits, GLAccounts, Journals, VATCodes
from .me import AllDivisions, Divisions, HrmDivisions, me_response
from .query import parse_select
from .resources import Ctx, handle, json_response
from .sales_entries import SalesEntries
from .sales_lines import SalesEntryLines
from .schema import ME
from .state import ExactState
from .webhooks import WebhookSubscriptions

RESOURCES = {
    cls.path: cls()
    for cls in (Accounts, SalesEntries, SalesEntryLines, Documents, DocumentAttachments, GLAccounts, Journals)
    + (Costcenters, Costunits, VATCodes, Divisions, AllDivisions, HrmDivisions, WebhookSubscriptions)
    + BULK_SYNC_RESOURCES
}
API_PATH = re.compile(
    r"^/api/v1/(?P<division>\d+)/(?P<endpoint>[A-Za-z]+/[A-Za-z]+(?:/[A-Za-z]+)?)(?:\((?P<key>[^)]*)\))?(?:/(?P<nav>[A-Za-z]+))?/?$"
)
MAX_URL = 6000  # [C S3]


class ExactApp:
    def __init__(self, state: ExactState):
        self.state = state

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request, environ)
        return response(environ, start_response)

    def dispatch(self, request: Request, environ) -> Response:
        if request.path.startswith("/_sandbox/"):
            return control.handle(self.state, request)
        with self.state.lock:
            entry = {"method": request.method, "path": request.full_path.rstrip("?"), "division": None}
            try:
                response = self._route(request, environ, entry)
            except DropConnection:
                self.state.log_request(**entry, status="dropped")
                raise
            self.state.log_request(**entry, status=response.status_code)
            return response

    def _route(self, request: Request, environ, entry: dict) -> Response:
        path = request.path
        if path == "/api/oauth2/auth":
            entry["endpoint"] = "oauth2/auth"
            return oauth.authorize(self.state, request)
        if path == "/api/oauth2/token" and request.method == "POST":
            entry["endpoint"] = "oauth2/token"
            return oauth.token(self.state, request, environ)
        if path == "/api/v1/current/Me":
            entry["endpoint"] = "current/Me"
            return self._guarded(lambda: self._me(request))
        if path == "/docs/SysAttachment.aspx":
            entry["endpoint"] = "docs/SysAttachment.aspx"
            return self._guarded(lambda: self._download(request))
        match = API_PATH.match(path)
        if match is None:
            entry["endpoint"] = path
            return ApiError(404, f"No resource at '{path}'.").to_response()
        entry["endpoint"], entry["division"] = match["endpoint"], int(match["division"])
        return self._api(request, environ, match)

    def _guarded(self, handler) -> Response:
        try:
            return handler()
        except ApiError as error:
            return error.to_response()

    # -- authentication ------------------------------------------------------------------------------
    def _bearer(self, request: Request):
        country = self.state.request_country(request)  # a token works only on the host that issued it
        found = self.state.tokens.authenticate(_token_text(request), self.state.clock.now(), country)
        if found is None:
            raise ApiError(401, "Unauthorized: the access token is missing, unknown or expired.")
        return found

    def _reachable(self, request: Request, token, code: int):
        """The division when it lives on this host's platform and the token's user may reach it, else None."""
        division = self.state.divisions.get(code)
        if division is None or division.code not in self.state.users[token.user_id].divisions:
            return None
        return division if division.country == self.state.request_country(request) else None

    def _check_accept(self, request: Request) -> None:
        accept = request.headers.get("Accept", "")
        if self.state.require_accept_json and "application/json" not in accept:
            raise ApiError(406, "Not acceptable: send Accept: application/json (Exact answers Atom XML otherwise).")

    def _me(self, request: Request) -> Response:
        token = self._bearer(request)
        self._check_accept(request)
        select = parse_select(request.args.get("$select"), ME)
        return me_response(self.state, self.state.users[token.user_id], request.host_url.rstrip("/"), select)

    def _download(self, request: Request) -> Response:
        token = self._bearer(request)
        division = self._reachable(request, token, int(request.args.get("_Division_", "0") or 0))
        if division is None:
            raise ApiError(self.state.foreign_division_status, "Wrong Division")
        attachment = division.attachments.get((request.args.get("ID") or "").lower())
        if attachment is None:
            raise ApiError(404, "Attachment not found.")
        if request.args.get("Download") != "1":
            link = f"{request.full_path}&Download=1"
            return Response(f'<a href="{link}">{attachment["FileName"]}</a>', mimetype="text/html")
        mimetype = "application/pdf" if attachment["FileName"].lower().endswith(".pdf") else "application/octet-stream"
        headers = {"Content-Disposition": f'attachment; filename="{attachment["FileName"]}"'}
        return Response(attachment["Attachment"], mimetype=mimetype, headers=headers)

    # -- the REST API ---------------------------------------------------------------------------------------
    def _api(self, request: Request, environ, match) -> Response:
        state, now = self.state, self.state.clock.now()
        division_code, endpoint = int(match["division"]), match["endpoint"]
        # Errors count per (app, user, division, endpoint) [C S1]; an unknown token has no app or user.
        known = state.tokens.known(_token_text(request))
        limiter_key = (getattr(known, "client_id", None), getattr(known, "user_id", None), division_code, endpoint)
        token = None
        try:
            token = self._bearer(request)
            state.limits.check_blocked(limiter_key, now)
            response = self._authorised(request, environ, match, token)
        except ApiError as error:
            if isinstance(error, BusinessError):
                error.status = state.business_error_status
                self._speak(error, request, token)
            response = error.to_response()
        state.limits.record_status(limiter_key, response.status_code, now)
        if token is not None and not _is_limit_429(response):
            response.headers.extend(state.limits.headers(token.client_id, division_code, now))
        return response

    def _speak(self, error: BusinessError, request: Request, token) -> None:
        """Business messages in the language asked for, else the user's (item 24)."""
        user = self.state.users.get(token.user_id) if token is not None else None
        language = request_language(request.headers.get("Accept-Language"), getattr(user, "language", None))
        error.message = ERROR_SEPARATOR.join(translate(message, language) for message in error.messages)

    def _authorised(self, request: Request, environ, match, token) -> Response:
        state = self.state
        division = self._reachable(request, token, int(match["division"]))
        if division is None:
            # onFact reports "Wrong Division" when the user lost access [R S17]; 401 or 403 (item 12).
            raise ApiError(state.foreign_division_status, "Wrong Division")
        self._check_accept(request)
        if len(request.url) > MAX_URL:
            raise BadRequest("The URL is longer than the maximum of 6000 characters.")
        state.limits.count_call(token.client_id, division.code, state.clock.now())
        if state.limits.enabled:
            state.fair_use.count(division.licence, state.clock.now(), state.limits.daily_reset_tz)
        resource = RESOURCES.get(match["endpoint"])
        if resource is None:
            raise ApiError(404, f"Resource not found for the segment '{match['endpoint']}'.")
        kind = state.faults.take(request.method, match["endpoint"])
        if kind in INJECTED_429_LIMIT:
            return injected_429(kind, state.limits.headers(token.client_id, division.code, state.clock.now()))
        if kind and kind not in AFTER:
            return _fault_response(kind, environ)
        ctx = Ctx(state, division, request, request.host_url.rstrip("/"), state.clock.now())
        ctx.user_id, ctx.client_id = token.user_id, token.client_id
        if request.method == "GET" and match["key"] is None:
            check_select_required(state, match["endpoint"], request.args)
        serve = getattr(resource, "serve", None)  # the bulk and sync endpoints page by 1,000
        if serve is not None:
            response = serve(ctx, request.method, match["key"])
        else:
            response = handle(resource, ctx, request.method, match["key"], match["nav"])
        if kind == "commit_then_drop":
            drop_connection(environ)
        if kind == "commit_then_500":
            return json_response(error_body("An unexpected error occurred."), status=500)
        return response


def _token_text(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _is_limit_429(response: Response) -> bool:
    """A 429 carries its own headers (only the exceeded limit's, or none): never the full set [K/R S6, S14]."""
    return response.status_code == 429


def _fault_response(kind: str, environ) -> Response:
    if kind == "drop":
        drop_connection(environ)
    messages = {"500": "An unexpected error occurred.", "503": "Service unavailable."}
    return json_response(error_body(messages[kind]), status=int(kind))


def create_app(state: ExactState | None = None) -> ExactApp:
    return ExactApp(state or ExactState())
