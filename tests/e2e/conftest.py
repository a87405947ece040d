"""A real Celery worker in a subprocess, on the test database, the test broker and the simulators.

Nothing is eager here: the web side (the live server) sends tasks to the broker and the worker process
takes them, as in production. Each run gets its own queue, so another worker on the same broker can
never take (and run against another database) a task of this test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from eduexact_site.celery import app

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60


def test_database_url() -> str:
    """The DATABASE_URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _route_tasks_to(queue: str | None) -> None:
    """Send this process's sync and alert tasks to `queue` (None: back to the default)."""
    app.conf.task_routes = {"sync.tasks.*": {"queue": queue}, "monitoring.tasks.*": {"queue": queue}} if queue else None
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # a cached_property: rebuilt from the new routes


class Worker:
    """One `celery worker --pool=solo` subprocess and its log."""

    def __init__(self, env: dict, log_path: Path, queue: str):
        self.log_path = log_path
        self.queue = queue
        # The production app, with this run's queue for the tasks the worker sends itself (tests/e2e/worker_app.py).
        command = [sys.executable, "-m", "celery", "-A", "tests.e2e.worker_app", "worker", "--pool=solo", "-l", "info"]
        command += ["-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self._log = log_path.open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if " ready." in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"The worker exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.1)
        raise RuntimeError(f"The worker was not ready within {READY_TIMEOUT} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a pulled plug would: no cleanup, no acknowledgement, claims left behind."""
        self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self._log.closed:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def _worker_env(exact_url: str, eduframe_url: str, queue: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="eduexact_site.settings",
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        EDUEXACT_VAR_DIR=str(settings.VAR_DIR),
        EXACT_BASE_URL=exact_url,
        EDUFRAME_BASE_URL=eduframe_url,
        SECRET_KEY=settings.SECRET_KEY,
        TOKEN_ENCRYPTION_KEY=settings.TOKEN_ENCRYPTION_KEY,
        DEBUG="false",
        EDUEXACT_E2E_QUEUE=queue,
    )
    return env


@pytest.fixture
def celery_worker(transactional_db, exact_sandbox, eduframe_sandbox, tmp_path):
    """A running worker that sees this test's committed rows and the two simulators."""
    queue = f"e2e-{uuid.uuid4().hex[:12]}"
    _route_tasks_to(queue)
    worker = Worker(_worker_env(exact_sandbox.url, eduframe_sandbox.url, queue), tmp_path / "worker.log", queue)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
        _route_tasks_to(None)
        # Shown by pytest only when the test failed: what the worker did and said.
        print(f"----- celery worker log ({worker.log_path}) -----\n{worker.log()}")


def connected_installation(exact_sandbox, *, slug: str, division: int):
    """An installation whose Exact connection holds fresh sandbox tokens, with complete global settings."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import GlobalSettingsFactory, InstallationFactory, sandbox_connection

    exact_sandbox.state.seed_division(division, f"{slug} B.V.")
    installation = InstallationFactory(educator_slug=slug, eduframe_access_token="demo-token")
    sandbox_connection(installation, exact_sandbox)
    GlobalSettingsFactory(
        installation=installation,
        division=division,
        journal_code="70",
        ledger_code="8000",
        sync_from=timezone.localdate() - timedelta(days=60),
    )
    return installation


def beat_then(predicate):
    """Play beat's dispatcher run (every RETRY_SCAN_EVERY_SECONDS in production), then check `predicate`.

    The e2e tests run workers without beat; a retry whose time came is sent by this run, as beat would.
    """
    from sync.services.invoice_dispatch import invoices_dispatch

    def check():
        invoices_dispatch()
        return predicate()

    return check


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "the condition"):
    """Poll until `predicate()` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout} s waiting for {what}.")


@pytest.fixture
def celery_workers(transactional_db, exact_sandbox, eduframe_sandbox, tmp_path):
    """Start workers on one queue, one after the other (`start()`), as a supervisor restarting a killed one would;
    `start(TOKEN_ENCRYPTION_KEY=...)` starts one with other environment variables."""
    queue = f"e2e-{uuid.uuid4().hex[:12]}"
    _route_tasks_to(queue)
    env = _worker_env(exact_sandbox.url, eduframe_sandbox.url, queue)
    workers: list[Worker] = []

    def start(**overrides: str) -> Worker:
        worker = Worker({**env, **overrides}, tmp_path / f"worker-{len(workers)}.log", queue)
        workers.append(worker)
        worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
        _route_tasks_to(None)
        for worker in workers:
            print(f"----- celery worker log ({worker.log_path}) -----\n{worker.log()}")
