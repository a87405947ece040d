"""The /api/v1 dispatcher: rate limit, injected faults, bearer auth, scopes, routing, request log.

Order matters and mirrors a real gateway: the rate limit and server faults hit before authentication,
then the token, then the route, then the route's scope.
"""

from __future__ import annotations

import time

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from sandbox.eduframe import api_invoices, api_resources, api_webhooks
from sandbox.eduframe.errors import SimulatorError
from sandbox.eduframe.http import error_response

PREFIX = "/api/v1"
SERVER_FAULTS = ("429", "500", "503")
SERVER_FAULT_MESSAGES = {500: "Internal server error", 503: "Service unavailable"}


def build_map() -> Map:
    rules = []
    for module in (api_invoices, api_resources, api_webhooks):
        for method, path, handler, scopes in module.ROUTES:
            rules.append(Rule(path, methods=[method], endpoint=(handler, scopes)))
    return Map(rules, strict_slashes=False)


def bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def too_many(retry_after: int):
    return error_response(429, "Too many requests were made", {}, {"Retry-After": str(retry_after)})


class Api:
    """Handle one /api/v1 request against the state."""

    def __init__(self, state):
        self.state = state
        self.url_map = build_map()

    def handle(self, request):
        path = request.path[len(PREFIX) :] or "/"
        token = bearer(request)
        record = self.state.token_record(token)
        started = time.monotonic()
        response = self._respond(request, path, token, record)
        self._log(request, path, token, record, response, started)
        return response

    def _respond(self, request, path, token, record):
        limited = self._gate(request, path, record)
        if limited is not None:
            return limited
        if token and self.state.take_fault(request.method, path, ("expired_token",)):
            return self._unauthorized("The access token expired", expired=True)
        if record is None:
            return self._unauthorized("Unauthorized" if token is None else "Invalid access token")
        try:
            response = self._route(request, path, record)
        except SimulatorError as exc:
            response = error_response(exc.status, exc.message, exc.errors, getattr(exc, "headers", None))
        return self._after(request, path, response)

    def _gate(self, request, path, record):
        """Rate limit (per OAuth application, per token, or per IP when unauthenticated) and server faults."""
        if record is not None:
            key = f"app:{record['client_id']}" if record["client_id"] else f"token:{record['token']}"
        else:
            key = f"ip:{request.remote_addr}"
        retry_after = self.state.check_rate(key)
        if retry_after is not None:
            return too_many(retry_after)
        fault = self.state.take_fault(request.method, path, SERVER_FAULTS)
        if fault is None:
            return None
        if fault["kind"] == "429":
            return too_many(int(fault["seconds"] or 2))
        status = int(fault["kind"])
        return error_response(status, SERVER_FAULT_MESSAGES[status])

    def _unauthorized(self, message: str, expired: bool = False):
        status = self.state.auth_failure_status
        challenge = 'Bearer error="invalid_token"' if expired else "Bearer"
        return error_response(status, message, {}, {"WWW-Authenticate": challenge})

    def _route(self, request, path, record):
        adapter = self.url_map.bind("", path_info=path)
        try:
            (handler, scopes), kwargs = adapter.match(method=request.method)
        except NotFound:
            return error_response(404, "Not found")
        except MethodNotAllowed:
            return error_response(405, "Method not allowed")
        if scopes and not set(scopes) & set(record["scopes"]):
            status = self.state.forbidden_status
            return error_response(status, "Forbidden", {"scope": [f"{' or '.join(scopes)} is required"]})
        return handler(self.state, request, **kwargs)

    def _after(self, request, path, response):
        """Apply response-side faults: a broken Link header, or a reply slower than the client waits."""
        link = response.headers.get("Link")
        if link and self.state.take_fault(request.method, path, ("bad_link",)):
            # The docs' own example drops the /api/v1 prefix; a client that rebuilds URLs goes astray.
            response.headers["Link"] = link.replace(PREFIX + "/", "/", 1)
        fault = self.state.take_fault(request.method, path, ("timeout",))
        if fault:
            # The request has been processed (a write is committed), only the answer comes too late.
            time.sleep(fault["seconds"] if fault["seconds"] is not None else self.state.timeout_seconds)
        return response

    def _log(self, request, path, token, record, response, started):
        self.state.log_request(
            {
                "at": self.state.clock.now().isoformat(timespec="milliseconds"),
                "method": request.method,
                "path": path,
                "query": request.query_string.decode(),
                "token": token,
                "client_id": record["client_id"] if record else None,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }
        )
