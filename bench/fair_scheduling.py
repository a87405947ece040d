"""Print how EduExact shares Exact's rate limits between many tenants catching up at once (a table).

Setup: both simulators in this process over real HTTP on loopback, the Exact one with a shortened rate-limit
window (`--window` seconds, `--limit` calls per window per division, announced in its reset headers like the
real minute); `--tenants` installations, each in its own Exact division with its own Eduframe token, each
with `--invoices` invoices to catch up (marked due by the same bulk path reconciliation uses); `--workers`
real `celery worker --pool=solo` processes on PostgreSQL and Redis. This script plays beat's dispatcher run
(`sync.tasks.retry_due_invoices`, every second). Meanwhile one more tenant without backlog gets a new invoice
every few seconds through the real webhook view, and the time from webhook to booked is measured.

Figures, each beside its target: budget use of each division while it had work (calls / (limit x windows
from its first call to the start of its last window)), 429s, invoices booked exactly once (one entry per
YourRef, every record booked), the deepest the broker got, webhook-to-booked p95 of the tenant without
backlog, the workers' CPU per booked invoice and their memory at the end.

Run (PostgreSQL and Redis must answer; the database is emptied and migrated):
    .venv/bin/python bench/fair_scheduling.py --database-url postgres://postgres@127.0.0.1:5432/eduexact_bench \
        --broker-url redis://127.0.0.1:6379/0 [--tenants 50 --invoices 200 --workers 4 --window 6 --limit 6]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = tempfile.mkdtemp(prefix="eduexact-bench-fair-")
atexit.register(shutil.rmtree, WORK_DIR, ignore_errors=True)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--invoices", type=int, default=200, help="invoices to catch up per tenant")
    parser.add_argument("--workers", type=int, default=4, help="celery worker processes (--pool=solo)")
    parser.add_argument("--window", type=int, default=6, help="seconds of the simulator's rate-limit window")
    parser.add_argument("--limit", type=int, default=6, help="Exact calls per window per division")
    parser.add_argument("--webhook-every", type=float, default=3.0, help="seconds between the fresh tenant's invoices")
    parser.add_argument("--timeout", type=int, default=1800, help="give up after this many seconds")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--broker-url", default=os.environ.get("CELERY_BROKER_URL", ""))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres") or not args.broker_url.startswith("redis"):
        parser.error("--database-url postgres://... and --broker-url redis://... are required")
    return args


ARGS = _args()
os.environ.update(
    DJANGO_SETTINGS_MODULE="eduexact_site.settings",
    SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key"),
    TOKEN_ENCRYPTION_KEY=os.environ.get("TOKEN_ENCRYPTION_KEY", "bench-only-token-key"),
    EDUEXACT_VAR_DIR=WORK_DIR,
    DATABASE_URL=ARGS.database_url,
    CELERY_BROKER_URL=ARGS.broker_url,
    SYNC_TASKS_PER_TENANT="1",
    SYNC_TASKS_IN_FLIGHT=str(ARGS.tenants + ARGS.workers),
    DEBUG="false",
)

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
logging.getLogger("werkzeug").setLevel(logging.WARNING)

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from plugin.models import ExactConnection, GlobalSettings, Installation  # noqa: E402
from sandbox.eduframe.app import create_app as create_eduframe  # noqa: E402
from sandbox.exact.app import create_app as create_exact  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from sync.models import InvoiceRecord  # noqa: E402
from sync.services.invoice_dispatch import invoices_dispatch  # noqa: E402
from sync.services.invoice_queue import invoices_enqueue_listed  # noqa: E402

FIRST_DIVISION = 3_000_000
CELERY_QUEUE = "celery"
TARGETS = {"budget": 0.95, "p95": 5.0, "cpu_ms": 20.0}


def reset_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def start_simulators():
    exact_server = SandboxServer(create_exact()).start()
    eduframe_server = SandboxServer(create_eduframe()).start()
    exact, eduframe = exact_server.app.state, eduframe_server.app.state
    exact.limits.window_seconds, exact.limits.minutely_limit = ARGS.window, ARGS.limit
    exact.limits.daily_limit = 10**9  # the benchmark is about the window, not the day
    return exact_server, eduframe_server, exact, eduframe


def make_tenant(n: int, exact_server, exact, eduframe) -> Installation:
    division = FIRST_DIVISION + n
    exact.seed_division(division, f"Bench {n} B.V.")
    tokens = exact.issue_tokens_for(exact.default_user().user_id)
    token = f"bench-token-{n}"
    eduframe.add_token(token, list(_eduframe_scopes()))  # per-token Eduframe limit, as each tenant has its own
    installation = Installation.objects.create(educator_slug=f"bench-{n}", eduframe_access_token=token)
    now = timezone.now()
    ExactConnection.objects.create(
        installation=installation,
        base_url=exact_server.url,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_expires_at=now + timedelta(hours=2),
        tokens_issued_at=now,
    )
    GlobalSettings.objects.create(
        installation=installation,
        division=division,
        journal_code="70",
        ledger_code="8000",
        sync_from=timezone.localdate() - timedelta(days=30),
    )
    return installation


def _eduframe_scopes():
    from sandbox.eduframe.auth import ALL_SCOPES

    return ALL_SCOPES


def add_invoices(eduframe, count: int) -> list:
    from sync.eduframe.entities import Invoice

    vat = eduframe.add_vat("21% BTW", "21")
    invoices, account = [], None
    with eduframe.webhooks_suppressed():
        for n in range(count):
            if n % 5 == 0:  # five invoices per customer: new and known customers both
                account = eduframe.add_account(f"Klant {n // 5}", email=f"klant{n // 5}@example.nl")
            item = {"name": "Cursus", "units": 1, "unit_price": "100.00", "invoice_vat_id": vat["id"]}
            invoices.append(Invoice.from_api(_public(eduframe.add_invoice(account["id"], [item], status="open"))))
    return invoices


def _public(row: dict) -> dict:
    from sandbox.eduframe.serializers import public

    return json.loads(json.dumps(public(row), default=str))


def start_workers(exact_url: str, eduframe_url: str) -> list[subprocess.Popen]:
    env = {**os.environ, "EXACT_BASE_URL": exact_url, "EDUFRAME_BASE_URL": eduframe_url}
    workers = []
    for n in range(ARGS.workers):
        log = open(Path(WORK_DIR) / f"worker-{n}.log", "w")  # noqa: SIM115 (closed with the process)
        command = [sys.executable, "-m", "celery", "-A", "eduexact_site", "worker", "--pool=solo", "-l", "warning"]
        command += ["-n", f"bench{n}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def process_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return cpu, rss


def budget_use(exact, divisions: set[int]) -> dict[int, float]:
    """Per division: calls / (limit x windows from its first call's window up to its last call's window)."""
    with exact.lock:
        log = [r for r in exact.request_log if r.get("division") in divisions and r["status"] != 429]
    windows: dict[int, list[int]] = {}
    for request in log:
        at = timezone.datetime.fromisoformat(request["time"]).timestamp()
        windows.setdefault(request["division"], []).append(int(at // ARGS.window))
    use = {}
    for division, spans in windows.items():
        first, last = min(spans), max(spans)
        full = [w for w in spans if w < last]  # the last window is where the work ran out
        if last > first:
            use[division] = len(full) / (ARGS.limit * (last - first))
    return use


def broker_depth(broker) -> int:
    """Messages waiting in Redis: the queue and its priority sub-queues (kombu keeps one list per step)."""
    keys = [CELERY_QUEUE] + [f"{CELERY_QUEUE}\x06\x16{step}" for step in (3, 6, 9)]
    return sum(broker.llen(key) for key in keys)


def webhook(client: Client, installation: Installation, invoice_id: int) -> None:
    body = {"educator": installation.educator_slug, "event": "invoice.created"}
    body |= {"entity_type": "Invoice", "entity_id": invoice_id}
    url = f"/webhooks/eduframe/{installation.pk}/{installation.webhook_secret}"
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content


def main() -> int:
    reset_database()
    exact_server, eduframe_server, exact, eduframe = start_simulators()
    tenants = [make_tenant(n, exact_server, exact, eduframe) for n in range(ARGS.tenants)]
    fresh = make_tenant(ARGS.tenants, exact_server, exact, eduframe)
    backlog = add_invoices(eduframe, ARGS.tenants * ARGS.invoices)
    broker = redis.Redis.from_url(ARGS.broker_url)
    broker.delete(CELERY_QUEUE, *[f"{CELERY_QUEUE}\x06\x16{step}" for step in (3, 6, 9)])
    workers = start_workers(exact_server.url, eduframe_server.url)
    atexit.register(_stop, workers)
    time.sleep(5)  # started: their start-up CPU is not the bookings'
    cpu_at_start = sum(process_stats(w.pid)[0] for w in workers)
    started = time.monotonic()
    for n, tenant in enumerate(tenants):
        mine = backlog[n * ARGS.invoices : (n + 1) * ARGS.invoices]
        invoices_enqueue_listed(installation=tenant, listed=mine, ids=[], trigger="reconcile")
    client, asked, depth = Client(HTTP_HOST="localhost"), {}, []
    vat = eduframe.add_vat("21% fresh", "21")
    account = eduframe.add_account("Fresh B.V.", email="fresh@example.nl")
    next_webhook = time.monotonic()
    total = ARGS.tenants * ARGS.invoices
    while time.monotonic() - started < ARGS.timeout:
        invoices_dispatch()
        depth.append(broker_depth(broker))
        if time.monotonic() >= next_webhook:
            with eduframe.webhooks_suppressed():
                item = {"name": "Nieuw", "units": 1, "unit_price": "50.00", "invoice_vat_id": vat["id"]}
                invoice = eduframe.add_invoice(account["id"], [item], status="open")
            asked[invoice["id"]] = timezone.now()
            webhook(client, fresh, invoice["id"])
            next_webhook += ARGS.webhook_every
        booked = InvoiceRecord.objects.filter(installation__in=tenants, state=InvoiceRecord.State.BOOKED).count()
        if booked >= total:
            break
        time.sleep(1)
    elapsed = time.monotonic() - started
    time.sleep(5)  # the fresh tenant's last invoices
    stats = [process_stats(w.pid) for w in workers]
    _stop(workers)
    return report(exact, tenants, fresh, asked, depth, stats, elapsed, cpu_at_start)


def report(exact, tenants, fresh, asked, depth, stats, elapsed, cpu_at_start) -> int:
    divisions = {FIRST_DIVISION + n for n in range(ARGS.tenants)}
    use = budget_use(exact, divisions)
    with exact.lock:
        too_many = sum(1 for r in exact.request_log if r["status"] == 429)
        refs = Counter(
            (code, e.get("YourRef"))
            for code, d in exact.divisions.items()
            if code in divisions
            for e in d.entries.values()
        )
    total = ARGS.tenants * ARGS.invoices
    records = InvoiceRecord.objects.filter(installation__in=tenants)
    booked = records.filter(state=InvoiceRecord.State.BOOKED).count()
    once = sum(1 for n in refs.values() if n == 1)
    latencies = []
    for record in InvoiceRecord.objects.filter(installation=fresh, eduframe_invoice_id__in=list(asked)):
        if record.booked_at:
            latencies.append((record.booked_at - asked[record.eduframe_invoice_id]).total_seconds())
    p95 = statistics.quantiles(latencies, n=20)[18] if len(latencies) >= 2 else float("nan")
    cpu = sum(s[0] for s in stats) - cpu_at_start
    cpu_ms = 1000 * cpu / max(1, booked + len(latencies))
    rows = [
        ("configuration", f"{ARGS.tenants} tenants x {ARGS.invoices} invoices, {ARGS.workers} workers, "
         f"{ARGS.limit} calls / {ARGS.window} s window", ""),
        ("wall time", f"{elapsed:.0f} s", ""),
        ("budget used while busy (min / median)", f"{min(use.values(), default=0):.1%} / "
         f"{statistics.median(use.values()) if use else 0:.1%}", f">= {TARGETS['budget']:.0%}"),
        ("429 answers from Exact", str(too_many), "0"),
        ("invoices booked", f"{booked} / {total}", f"{total}"),
        ("entries with their YourRef exactly once", f"{once} / {len(refs)}", f"{total}"),
        ("deepest broker queue (sampled each second)", str(max(depth, default=0)),
         f"<= {ARGS.tenants + ARGS.workers} (SYNC_TASKS_IN_FLIGHT)"),
        ("fresh tenant: webhook to booked p95", f"{p95:.2f} s ({len(latencies)} invoices)", f"< {TARGETS['p95']:.0f} s"),
        ("worker process time per booked invoice", f"{cpu_ms:.1f} ms", f"<= {TARGETS['cpu_ms']:.0f} ms"),
        ("worker RSS at the end (max)", f"{max(s[1] for s in stats):.0f} MB", "no growth"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'figure'.ljust(width)}  {'measured'.ljust(44)}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value.ljust(44)}  {target}")
    return 0 if (too_many == 0 and booked == total and once == total) else 1


if __name__ == "__main__":
    sys.exit(main())
