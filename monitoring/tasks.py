"""Thin Celery tasks of the alerts: ids in, one service call."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

_LIMITS = {
    "acks_late": True,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
}


@shared_task(**_LIMITS)
def alert_incidents_check_task(installation_id: int) -> int:
    """Tell the administrators of one installation about a new incident, at once."""
    from monitoring.services.incidents import alert_incidents_check
    from plugin.models import Installation

    installation = Installation.objects.filter(pk=installation_id).first()
    return alert_incidents_check(installation=installation) if installation else 0


@shared_task(**_LIMITS)
def alert_incidents_check_all() -> int:
    """Beat: check every installation for incidents (the budget, a lapsing token) and close the ones over."""
    from monitoring.services.incidents import alert_incidents_check
    from plugin.models import Installation

    return sum(alert_incidents_check(installation=i) for i in Installation.objects.filter(is_active=True))


@shared_task(**_LIMITS)
def alert_digests_send() -> int:
    """Beat (hourly): send each installation's daily digest once the digest hour has come."""
    from monitoring.services.digest import alert_digests_due

    return alert_digests_due()
