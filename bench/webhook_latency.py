"""Print how fast the Eduframe webhook receiver answers: latency percentiles and requests per second.

Serves the service's own WSGI application (`django.core.wsgi.get_wsgi_application()`, DEBUG off) in a threaded
Werkzeug HTTP server on loopback, on a temporary SQLite database, with a filesystem Celery broker in a temporary
folder: each accepted webhook stores a WebhookEvent and queues its task there, and no worker runs. One httpx
client (keep-alive) POSTs K `invoice.updated` webhooks one after another and measures each round trip. Checks
that every answer is 202, that K WebhookEvents are stored and K tasks queued; exits 1 otherwise.

Run: .venv/bin/python bench/webhook_latency.py [--webhooks 500]
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = tempfile.mkdtemp(prefix="eduexact-bench-")
atexit.register(shutil.rmtree, WORK_DIR, ignore_errors=True)
QUEUE_DIR = Path(WORK_DIR) / "celery-queue"
os.environ["DJANGO_SETTINGS_MODULE"] = "eduexact_site.settings"
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("TOKEN_ENCRYPTION_KEY", "bench-only-token-key")
os.environ["EDUEXACT_VAR_DIR"] = WORK_DIR
os.environ["DATABASE_URL"] = f"sqlite:///{WORK_DIR}/bench.sqlite3"
os.environ["CELERY_BROKER_URL"] = f"filesystem://{QUEUE_DIR}"
# The per-installation rate limit would defer webhooks after the first 300 of one minute: the bench measures the cost
# of an accepted webhook (the rate check's count included), so its limits are out of the way.
os.environ["WEBHOOK_RATE_LIMIT_PER_MINUTE"] = "1000000"
os.environ["WEBHOOK_HARD_LIMIT_PER_MINUTE"] = "1000000"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from plugin.models import Installation  # noqa: E402
from sync.models import WebhookEvent  # noqa: E402


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def queued_messages() -> int:
    return sum(1 for path in QUEUE_DIR.iterdir() if path.is_file() and path.suffix == ".msg")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=500, help="how many webhooks to POST")
    count = parser.parse_args().webhooks
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic in a bench
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request is noise here
    call_command("migrate", verbosity=0)
    installation = Installation.objects.create(educator_slug="demo-academy", eduframe_access_token="demo-token")
    server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    url = f"/webhooks/eduframe/{installation.pk}/{installation.webhook_secret}"

    latencies, bad = [], []
    with httpx.Client(base_url=base, timeout=10.0) as client:
        client.get("/healthz")  # warm-up (not counted): the first request loads the URLconf and middleware
        queued_before = queued_messages()
        started = time.perf_counter()
        for n in range(count):
            body = {
                "event": "invoice.updated",
                "entity_type": "invoice",
                "entity_id": 1 + n % 1000,
                "educator": "demo-academy",
            }
            sent = time.perf_counter()
            response = client.post(url, content=json.dumps(body), headers={"Content-Type": "application/json"})
            latencies.append((time.perf_counter() - sent) * 1000)
            if response.status_code != 202:
                bad.append(f"webhook {n}: HTTP {response.status_code} {response.text[:200]}")
        seconds = time.perf_counter() - started
    server.shutdown()
    server.server_close()

    stored = WebhookEvent.objects.filter(installation=installation).count()
    queued = queued_messages() - queued_before
    ordered = sorted(latencies)
    print(f"Webhook receiver: {count} POSTs from one httpx client (keep-alive, one at a time) to the WSGI app")
    print("in a threaded Werkzeug server on loopback, same process; DEBUG off, SQLite, filesystem Celery broker,")
    print(f"no worker (tasks only queue). cores: {os.cpu_count()}, Python {sys.version.split()[0]}")
    print()
    p50, p95, p99 = (percentile(ordered, fraction) for fraction in (0.50, 0.95, 0.99))
    print(f"  latency p50 / p95 / p99 / max:  {p50:.1f} / {p95:.1f} / {p99:.1f} / {ordered[-1]:.1f} ms")
    print(f"  mean:                           {statistics.fmean(ordered):.1f} ms")
    print(f"  requests per second:            {count / seconds:.1f}  ({seconds:.2f} s in all)")
    print(f"  WebhookEvents stored:           {stored} (must be {count})")
    print(f"  tasks queued:                   {queued} (must be {count})")
    failures = bad[:10]
    if stored != count:
        failures.append(f"{stored} WebhookEvents stored for {count} webhooks")
    if queued != count:
        failures.append(f"{queued} tasks queued for {count} webhooks")
    print()
    if failures:
        print(f"CHECK FAILED ({len(failures)} shown, {len(bad)} answers not 202):")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print(f"check: OK: {count} answers 202, {stored} WebhookEvents stored, {queued} tasks queued")
    return 0


if __name__ == "__main__":
    sys.exit(main())
