"""WSGI entry point (gunicorn eduexact_site.wsgi)."""

import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduexact_site.settings")
application = get_wsgi_application()

try:
    from plugin.services.key_check import key_problem_log

    # A web process with a wrong TOKEN_ENCRYPTION_KEY says so at start, naming the variable and the fix.
    key_problem_log("Web process")
except Exception:  # the web must start even when the database is not there yet
    logging.getLogger(__name__).exception("Could not check TOKEN_ENCRYPTION_KEY against the stored tokens.")
