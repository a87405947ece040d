"""Eduframe's 429 names its wait in Retry-After (notes 1.4): a reconciliation retries after it, not sooner."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from celery.exceptions import Retry

from sync import tasks
from sync.errors import RetryableError

pytestmark = pytest.mark.django_db


def test_a_reconciliation_stopped_by_eduframes_429_retries_after_its_retry_after(world):
    world.eduframe.inject_fault("/invoices", "429", count=5, seconds=240)
    with patch.object(tasks.reconcile_installation_task, "retry", side_effect=Retry()) as retry:
        with pytest.raises(Retry):
            tasks.reconcile_installation_task.run(world.installation.pk)
    (call,) = retry.call_args_list
    assert call.kwargs["countdown"] >= 240
    assert isinstance(call.kwargs["exc"], RetryableError)


def test_without_a_named_wait_the_retries_back_off_from_a_minute():
    error = RetryableError("Eduframe failed (503).")
    assert [tasks.retry_countdown(error, n) for n in range(5)] == [60, 120, 240, 480, 600]
