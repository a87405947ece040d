"""View decorators: the installation of the browser session, and views that need a setting."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from plugin.selectors import installation_from_session
from plugin.services.admin_sessions import session_touch


def installation_required(view):
    """Load the session's installation into `request.installation`, or explain how to open the plugin."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        installation = installation_from_session(session=request.session)
        if installation is None:
            return render(request, "plugin/open_from_eduframe.html", status=403)
        request.installation = installation
        session_touch(request=request)
        return view(request, *args, **kwargs)

    return wrapper


def require_setting(name: str):
    """Answer 404 when the setting `name` is unset (an integration that is not configured)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not getattr(settings, name, None):
                raise Http404(f"{name} is not configured.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
