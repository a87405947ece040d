"""Print what one Prometheus scrape of /metrics costs: milliseconds, database queries and the answer's size.

Fills a temporary SQLite database with I installations of N invoice records each (in every state), a year of
Exact call-day rows per installation, and booking tallies for every outcome and duration bucket, then scrapes
`GET /metrics` through Django's test client (the whole view: the custom collector reads the database, the
prometheus-client library writes the text format) S times and reports the median and worst. Checks that the
invoice gauges add up to the rows made; exits 1 otherwise.

Run: .venv/bin/python bench/metrics_scrape.py [--installations 20] [--invoices 5000] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = tempfile.mkdtemp(prefix="eduexact-bench-")
atexit.register(shutil.rmtree, WORK_DIR, ignore_errors=True)
os.environ["DJANGO_SETTINGS_MODULE"] = "eduexact_site.settings"
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("TOKEN_ENCRYPTION_KEY", "bench-only-token-key")
os.environ["EDUEXACT_VAR_DIR"] = WORK_DIR
os.environ["DATABASE_URL"] = f"sqlite:///{WORK_DIR}/bench.sqlite3"
os.environ["METRICS_TOKEN"] = "bench-token"
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from monitoring.tally import DURATION_BUCKETS, INF, tally_add  # noqa: E402
from plugin.models import ExactConnection, GlobalSettings, Installation  # noqa: E402
from sync.models import ExactCallDay, InvoiceRecord  # noqa: E402

STATES = InvoiceRecord.State.values
OUTCOMES = (("created", ""), ("updated", ""), ("unchanged", ""), ("failed", "functional"), ("failed", "retryable"))


def fill(installations: int, invoices: int) -> None:
    today = timezone.localdate()
    for n in range(installations):
        installation = Installation.objects.create(educator_slug=f"academy-{n}", eduframe_access_token="x")
        GlobalSettings.objects.create(installation=installation, division=1_000_000 + n)
        ExactConnection.objects.create(
            installation=installation, base_url="https://start.exactonline.nl", daily_limit=5000, daily_remaining=4000
        )
        InvoiceRecord.objects.bulk_create(
            InvoiceRecord(installation=installation, eduframe_invoice_id=i, state=STATES[i % len(STATES)])
            for i in range(invoices)
        )
        ExactCallDay.objects.bulk_create(
            ExactCallDay(installation=installation, division=1_000_000 + n, day=today - timedelta(days=d), calls=900)
            for d in range(365)
        )
        for outcome, kind in OUTCOMES:
            for bound in [*DURATION_BUCKETS, INF]:
                labels = {"installation": installation.pk, "outcome": outcome, "error_kind": kind, "le": str(bound)}
                tally_add("booking", labels, value=1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installations", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=5000, help="invoice records per installation")
    parser.add_argument("--scrapes", type=int, default=20)
    options = parser.parse_args()
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic in a bench
    call_command("migrate", verbosity=0)
    fill(options.installations, options.invoices)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": "Bearer bench-token"}
    client.get("/metrics", **headers)  # warm-up: URLconf, middleware
    timings, queries = [], 0
    for _ in range(options.scrapes):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/metrics", **headers)
            timings.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    text = response.content.decode()
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    invoices = sum(s.value for s in samples if s.name == "eduexact_invoices")
    print(f"{options.installations} installations x {options.invoices} invoice records, 365 call days each (SQLite)")
    print(f"  scrape: median {statistics.median(timings):.1f} ms, worst {max(timings):.1f} ms, {queries} queries")
    print(f"  answer: {len(response.content) / 1024:.0f} KiB, {len(samples)} samples")
    expected = options.installations * options.invoices
    if response.status_code != 200 or invoices != expected:
        print(f"check FAILED: status {response.status_code}, invoices {invoices:.0f} != {expected}")
        return 1
    print(f"check: OK: the invoice gauges add up to the {expected} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
