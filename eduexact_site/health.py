"""GET /healthz: 200 when the database and the Celery broker answer, 503 otherwise."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from eduexact_site.celery import app as celery_app

logger = logging.getLogger(__name__)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "not healthy", and is logged
        logger.exception("Health check: the database does not answer")
        return False


def _broker_answers() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy", and is logged
        logger.exception("Health check: the Celery broker does not answer")
        return False


@require_GET
def healthz(request):
    checks = {"database": _database_answers(), "broker": _broker_answers()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse({"status": "ok" if status == 200 else "unhealthy", **checks}, status=status)
