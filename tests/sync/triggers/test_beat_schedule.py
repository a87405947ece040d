"""Beat's DatabaseScheduler registers CELERY_BEAT_SCHEDULE in django-celery-beat's tables at startup."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from eduexact_site.celery import app


# transaction=True: the scheduler closes the database connection, which a wrapping test transaction cannot survive.
@pytest.mark.django_db(transaction=True)
def test_the_database_scheduler_registers_every_schedule_from_the_settings():
    DatabaseScheduler(app=app)  # what `celery -A eduexact_site beat` builds at startup
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = PeriodicTask.objects.get(name=name)
        assert (task.task, task.enabled) == (entry["task"], True)
        assert task.interval.every * {"seconds": 1, "minutes": 60}[task.interval.period] == entry["schedule"]


def test_the_scheduled_tasks_exist_in_the_app():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
