"""The WSGI application: /api/v1 (REST), /login/oauth2 (OAuth2) and /_sandbox (control)."""

from __future__ import annotations

from werkzeug.wrappers import Request

from sandbox.eduframe import control, oauth_views
from sandbox.eduframe.api import PREFIX, Api
from sandbox.eduframe.http import error_response
from sandbox.eduframe.state import EduframeState


class EduframeApp:
    """A WSGI callable around one EduframeState (`.state`)."""

    def __init__(self, state: EduframeState):
        self.state = state
        self.api = Api(state)

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request):
        path = request.path
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.api.handle(request)
        if path.startswith("/login/oauth2/"):
            return oauth_views.handle(self.state, request)
        if path.startswith("/_sandbox/"):
            return control.handle(self.state, request)
        return error_response(404, "Not found")


def create_app(state: EduframeState | None = None) -> EduframeApp:
    return EduframeApp(state or EduframeState())
