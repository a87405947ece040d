"""Celery tasks of the plugin: thin, one service call each."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(
    acks_late=True, soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT, time_limit=settings.CELERY_TASK_TIME_LIMIT
)
def keep_exact_connections_alive() -> int:
    """Beat: refresh idle Exact connections before their refresh tokens expire."""
    from plugin.services.exact_keepalive import exact_connections_keep_alive

    return exact_connections_keep_alive()
