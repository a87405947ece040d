"""The production Celery app, routed to one test run's queue (EDUEXACT_E2E_QUEUE).

The worker started by an end-to-end test loads this module: the tasks it sends itself (a webhook event
queues an invoice) then stay on that run's queue, where no other worker on the same broker looks.
"""

import os

from eduexact_site.celery import app

QUEUE = os.environ["EDUEXACT_E2E_QUEUE"]
app.conf.task_routes = {"sync.tasks.*": {"queue": QUEUE}, "monitoring.tasks.*": {"queue": QUEUE}}

__all__ = ["app"]
