"""Reconciliation runs whose worker died: shown as failed, with a plain reason, so the report can be run again.

A run is abandoned when it made no progress for longer than any run may last (the task's hard time limit: a
worker past it was killed), when its worker is a process on this host that no longer lives (seen at once by a
worker that starts after a crash), or when it was never taken up from the broker. Checked at every worker
start, by beat, and when the page or its progress bar looks at a run, so nobody watches a bar that never moves.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from sync.reconciliation_models import ReconciliationRun
from sync.services.worker_identity import holder_alive_here

logger = logging.getLogger(__name__)
Status = ReconciliationRun.Status

ABANDONED = (
    "The report stopped before it was finished: the background worker making it was stopped or restarted. "
    "Nothing was changed in Eduframe or Exact Online; run the report again."
)
NEVER_STARTED = (
    "The report did not start: no background worker took it up within {minutes} minutes. Check that the "
    "EduExact workers are running, then run the report again."
)
# A queued run waits behind at most a bounded handful of tasks (the dispatcher keeps the broker short).
QUEUED_LIMIT = timedelta(minutes=15)


def _silence_limit() -> timedelta:
    """No progress for longer than the task may run at all: its worker was killed or is gone."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def run_abandoned_reason(run: ReconciliationRun, now: datetime) -> str:
    """Why an unfinished run is abandoned, or "" while it may still finish."""
    if run.status == Status.QUEUED:
        late = run.created_at < now - QUEUED_LIMIT
        return NEVER_STARTED.format(minutes=round(QUEUED_LIMIT.total_seconds() / 60)) if late else ""
    if run.status != Status.RUNNING:
        return ""
    last_sign = run.heartbeat_at or run.started_at or run.created_at
    if last_sign < now - _silence_limit() or holder_alive_here(run.holder) is False:
        return ABANDONED
    return ""


def reconciliation_runs_recover(*, installation_id: int | None = None, now: datetime | None = None) -> int:
    """Mark every abandoned run failed with its reason; return how many."""
    now = now or timezone.now()
    runs = ReconciliationRun.objects.filter(status__in=(Status.QUEUED, Status.RUNNING))
    if installation_id is not None:
        runs = runs.filter(installation_id=installation_id)
    return sum(_fail_if_abandoned(run, now) for run in runs)


def _fail_if_abandoned(run: ReconciliationRun, now: datetime) -> bool:
    reason = run_abandoned_reason(run, now)
    if not reason:
        return False
    # Conditional on what we saw: a worker that made progress (or finished) meanwhile is left alone.
    seen = Q(status=run.status, heartbeat_at=run.heartbeat_at) if run.heartbeat_at else Q(status=run.status)
    steps = max(run.steps_done, 1)
    failed = ReconciliationRun.objects.filter(seen, pk=run.pk).update(
        status=Status.FAILED, error=reason, finished_at=now, steps_done=steps, steps_total=steps
    )
    if failed:
        logger.warning("Reconciliation run %s (%s) abandoned: %s", run.pk, run.holder or "never started", reason)
    return bool(failed)
