"""Print how fast EduExact books invoices: N demo invoices booked one after another, then a pass with no change.

Measures, for the first N invoices (by id) of the deterministic demo tenant (sandbox/demo_data.py): the outcome
counts, wall time, invoices per second, the service's own CPU per booked invoice (the booking thread's CPU time;
the simulators serve on threads of their own) beside the 20 ms target, Exact and Eduframe calls per invoice (from the simulators' request logs),
database queries and httpx clients built per invoice (counted by wrapping Django's execute and
httpx.Client.__init__), the process's peak RSS, and that every booked entry in Exact totals Eduframe's
`total_incl` to the cent with exactly one entry per invoice. A second pass over the same invoices (nothing
changed) must cost no Exact call at all. Both simulators run in this process, served over real HTTP on loopback,
with their rate limits out of reach; the booking is `invoice_sync` called directly (no Celery), on a temporary
SQLite database, or on PostgreSQL with --database-url (the bench empties that database's schema first: give it
a database of its own). Exits 1 when a correctness check fails.

Run: .venv/bin/python bench/booking_throughput.py [--invoices 200] [--database-url postgres://.../eduexact_bench]
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = tempfile.mkdtemp(prefix="eduexact-bench-")
atexit.register(shutil.rmtree, WORK_DIR, ignore_errors=True)
os.environ["DJANGO_SETTINGS_MODULE"] = "eduexact_site.settings"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("TOKEN_ENCRYPTION_KEY", "bench-only-token-key")
os.environ["EDUEXACT_VAR_DIR"] = WORK_DIR


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200, help="how many demo invoices to book (max 1000)")
    parser.add_argument(
        "--database-url", default="", help="postgres://... (emptied first); a temporary SQLite file by default"
    )
    return parser.parse_args()


ARGS = _arguments()  # before Django starts: the database is chosen by the environment
os.environ["DATABASE_URL"] = ARGS.database_url or f"sqlite:///{WORK_DIR}/bench.sqlite3"
os.environ["CELERY_BROKER_URL"] = f"filesystem://{WORK_DIR}/celery-queue"

import django  # noqa: E402
import httpx  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._connect import connected_installation, reset_database  # noqa: E402
from plugin.models import Installation  # noqa: E402
from sandbox.demo_data import EXACT_DEMO_DIVISION, HISTORY_DAYS, load_eduframe_demo  # noqa: E402
from sandbox.eduframe.app import create_app as create_eduframe  # noqa: E402
from sandbox.exact.app import create_app as create_exact  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from sync.models import InvoiceRecord  # noqa: E402
from sync.services.invoice_sync import invoice_sync  # noqa: E402

DIVISION = EXACT_DEMO_DIVISION["code"]
EXACT_MINUTELY_LIMIT, EXACT_DAILY_LIMIT = 60, 5000
CPU_TARGET_MS = 20.0  # issue 8: own CPU per booked invoice


class QueryCounter:
    """Count SQL statements through Django's execute wrapper (cheap, unlike connection.queries)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class ClientCounter:
    """Count the httpx.Client objects the service builds, and the time spent building them."""

    def __init__(self) -> None:
        self.count, self.seconds = 0, 0.0
        original = httpx.Client.__init__

        def counted(client, *args, **kwargs):
            started = time.perf_counter()
            original(client, *args, **kwargs)
            self.count += 1
            self.seconds += time.perf_counter() - started

        httpx.Client.__init__ = counted


def connect(exact_server, exact) -> Installation:
    """An installation connected to the demo division, with complete settings and `Sync from` before all."""
    return connected_installation(
        exact_server, exact, division=DIVISION, sync_from=timezone.localdate() - timedelta(days=HISTORY_DAYS + 10)
    )


def exact_calls(exact) -> int:
    with exact.lock:
        return sum(1 for request in exact.request_log if "/api/v1/" in request["path"])


def eduframe_calls(eduframe) -> int:
    with eduframe.lock:
        return len(eduframe.request_log)


def endpoint_counts(exact, eduframe, exact_from: int, eduframe_from: int) -> tuple[Counter, Counter]:
    """Calls per endpoint since the given positions in the request logs (ids in paths replaced by {id})."""
    with exact.lock:
        exact_log = [r for r in list(exact.request_log)[exact_from:] if "/api/v1/" in r["path"]]
    with eduframe.lock:
        eduframe_log = list(eduframe.request_log)[eduframe_from:]
    exact_counts = Counter(f"{r['method']} {r.get('endpoint') or r['path']}" for r in exact_log)
    generic = (re.sub(r"/\d+", "/{id}", r["path"]) for r in eduframe_log)
    eduframe_counts = Counter(f"{r['method']} {path}" for r, path in zip(eduframe_log, generic, strict=True))
    return exact_counts, eduframe_counts


def book_all(record_ids: list[int], trigger: str) -> tuple[float, float, float, Counter]:
    """Sync every record once; return wall seconds, process CPU seconds (simulators included), the booking
    thread's own CPU seconds (the service alone: the simulators answer on threads of their own), outcomes."""
    outcomes: Counter = Counter()
    started, cpu_started, own_started = time.perf_counter(), time.process_time(), time.thread_time()
    for record_id in record_ids:
        attempt = invoice_sync(record_id=record_id, trigger=trigger)
        outcomes[str(attempt.outcome)] += 1
    own = time.thread_time() - own_started
    return time.perf_counter() - started, time.process_time() - cpu_started, own, outcomes


def check_entries(exact, eduframe, installation) -> list[str]:
    """Every booked invoice: exactly one entry with its number as YourRef, totalling total_incl to the cent."""
    with exact.lock:
        entries = list(exact.division(DIVISION).entries.values())
    by_ref = Counter(str(entry.get("YourRef") or "") for entry in entries)
    failures = []
    booked = InvoiceRecord.objects.filter(installation=installation, state=InvoiceRecord.State.BOOKED)
    for record in booked:
        invoice = eduframe.get_invoice(record.eduframe_invoice_id)
        mine = [entry for entry in entries if entry["EntryID"] == str(record.exact_entry_id).lower()]
        if by_ref[invoice["number"]] != 1 or len(mine) != 1:
            failures.append(f"invoice {invoice['number']}: {by_ref[invoice['number']]} entries with its YourRef")
            continue
        total, expected = Decimal(str(mine[0]["AmountFC"])), Decimal(str(invoice["total_incl"]))
        if total.quantize(Decimal("0.01")) != expected.quantize(Decimal("0.01")):
            failures.append(f"invoice {invoice['number']}: entry total {total}, Eduframe total_incl {expected}")
    if len(entries) != booked.count():
        failures.append(f"{len(entries)} entries in Exact for {booked.count()} booked invoices")
    return failures


def main() -> int:
    count = ARGS.invoices
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulators' access log is noise here
    if connection.vendor == "postgresql":
        reset_database()
    else:
        call_command("migrate", verbosity=0)

    exact_app, eduframe_app = create_exact(), create_eduframe()
    exact, eduframe = exact_app.state, eduframe_app.state
    exact.seed_division(**EXACT_DEMO_DIVISION)
    load_eduframe_demo(eduframe)
    # Exact's limits out of reach (60 calls/minute, 5000/day per division in reality), its headers still counting
    # every call down as Exact's do: a client that stores only what its own count does not know relies on that.
    exact.limits.minutely_limit, exact.limits.daily_limit = 10**8, 10**9
    eduframe.rate_limit = None  # Eduframe: 500 requests per 5 minutes per token
    eduframe.request_log = deque(eduframe.request_log)  # unbounded: every call of the run is counted
    exact_server, eduframe_server = SandboxServer(exact_app).start(), SandboxServer(eduframe_app).start()
    settings.EXACT_BASE_URL, settings.EDUFRAME_BASE_URL = exact_server.url, eduframe_server.url
    installation = connect(exact_server, exact)

    invoice_ids = sorted(eduframe.tables["invoices"])[:count]
    record_ids = [
        InvoiceRecord.objects.create(installation=installation, eduframe_invoice_id=invoice_id).pk
        for invoice_id in invoice_ids
    ]
    n = len(record_ids)
    queries, clients = QueryCounter(), ClientCounter()

    exact_before, eduframe_before = exact_calls(exact), eduframe_calls(eduframe)
    connections_before = exact_server.connections_accepted + eduframe_server.connections_accepted
    with connection.execute_wrapper(queries):
        seconds, cpu, own_cpu, outcomes = book_all(record_ids, "command")
    first_exact, first_eduframe = exact_calls(exact) - exact_before, eduframe_calls(eduframe) - eduframe_before
    exact_by_endpoint, eduframe_by_endpoint = endpoint_counts(exact, eduframe, 0, eduframe_before)
    first_queries, first_clients, first_client_seconds = queries.count, clients.count, clients.seconds
    first_connections = exact_server.connections_accepted + eduframe_server.connections_accepted - connections_before
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    states = Counter(InvoiceRecord.objects.filter(installation=installation).values_list("state", flat=True).iterator())
    booked, attention = states[InvoiceRecord.State.BOOKED], states[InvoiceRecord.State.NEEDS_ATTENTION]
    other = n - booked - attention
    failures = check_entries(exact, eduframe, installation)

    exact_before, eduframe_before = exact_calls(exact), eduframe_calls(eduframe)
    queries.count, clients.count, clients.seconds = 0, 0, 0.0
    with connection.execute_wrapper(queries):
        second_seconds, second_cpu, second_own_cpu, second_outcomes = book_all(record_ids, "reconcile")
    second_exact, second_eduframe = exact_calls(exact) - exact_before, eduframe_calls(eduframe) - eduframe_before
    if second_exact:
        failures.append(f"the second pass (nothing changed) made {second_exact} Exact calls instead of 0")
    failures += [f"second pass: {check}" for check in check_entries(exact, eduframe, installation) if check]

    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"Booking throughput: {n} invoices of the demo tenant, invoice_sync in-process (no Celery), {database},")
    print("both simulators over HTTP on loopback in this process, their RATE LIMITS OUT OF REACH.")
    print(f"cores: {os.cpu_count()}, Python {sys.version.split()[0]}")
    print()
    print("first pass (empty Exact division, cold caches)")
    other_states = ", ".join(f"{k} {v}" for k, v in sorted(states.items()) if k not in ("booked", "needs_attention"))
    print(f"  booked / needs attention / other:  {booked} / {attention} / {other}  ({other_states or '-'})")
    print(f"  attempt outcomes:                  {dict(sorted(outcomes.items()))}")
    print(f"  wall time:                         {seconds:.2f} s")
    print(f"  invoices per second:               {n / seconds:.1f}  ({1000 * seconds / n:.1f} ms per invoice)")
    print(f"  CPU time (service + simulators):   {cpu:.2f} s  ({1000 * cpu / n:.1f} ms per invoice)")
    print(
        f"  service CPU per booked invoice:    {1000 * own_cpu / max(booked, 1):.1f} ms  "
        f"(target <= {CPU_TARGET_MS:.0f} ms; the booking thread only, {database}, no Celery)"
    )
    print(f"  Exact calls per invoice:           {first_exact / n:.2f}  ({first_exact} in all)")
    print(f"  Exact calls per booked invoice:    {first_exact / max(booked, 1):.2f}")
    print(f"  Eduframe calls per invoice:        {first_eduframe / n:.2f}  ({first_eduframe} in all)")
    print(f"  DB queries per invoice:            {first_queries / n:.1f}")
    print(
        f"  TCP connections opened:            {first_connections} for {first_exact + first_eduframe} requests "
        "(the simulators keep connections alive, as Exact and Eduframe do)"
    )
    print(
        f"  httpx clients built per invoice:   {first_clients / n:.2f}, "
        f"{1000 * first_client_seconds / max(first_clients, 1):.1f} ms each "
        f"({1000 * first_client_seconds / n:.1f} ms per invoice)"
    )
    print(f"  peak RSS of the process:           {peak_rss_mb:.0f} MB (includes both simulators and their data)")
    for name, by_endpoint in (("Exact", exact_by_endpoint), ("Eduframe", eduframe_by_endpoint)):
        calls = ", ".join(f"{endpoint} {calls / n:.2f}" for endpoint, calls in by_endpoint.most_common())
        print(f"    {name} per invoice by endpoint: {calls}")
    minutes = first_exact / EXACT_MINUTELY_LIMIT
    print(
        f"  under Exact's real limits:         {minutes:.1f} min at {EXACT_MINUTELY_LIMIT} calls/minute "
        f"(~{EXACT_MINUTELY_LIMIT * n / max(first_exact, 1):.0f} invoices/minute)"
        + (f"; {first_exact / EXACT_DAILY_LIMIT:.1f} days of the 5000/day limit" if first_exact > 5000 else "")
    )
    print("second pass (same invoices, nothing changed)")
    print(f"  attempt outcomes:                  {dict(sorted(second_outcomes.items()))}")
    print(f"  wall time:                         {second_seconds:.2f} s ({1000 * second_seconds / n:.1f} ms/invoice)")
    print(f"  CPU time (service + simulators):   {second_cpu:.2f} s ({1000 * second_cpu / n:.1f} ms/invoice)")
    print(f"  service CPU per invoice:           {1000 * second_own_cpu / n:.1f} ms")
    print(f"  Exact calls:                       {second_exact} (must be 0)")
    print(f"  Eduframe calls per invoice:        {second_eduframe / n:.2f}")
    print(f"  DB queries per invoice:            {queries.count / n:.1f}")
    print(
        f"  httpx clients built per invoice:   {clients.count / n:.2f}, "
        f"{1000 * clients.seconds / max(clients.count, 1):.1f} ms each"
    )
    print()
    if booked == 0:
        failures.append("no invoice was booked")
    if failures:
        print(f"CHECK FAILED ({len(failures)}):")
        for failure in failures[:20]:
            print(f"  {failure}")
    else:
        print(f"check: OK: {booked} booked invoices, one Exact entry each, every total equal to total_incl to the cent")
    exact_server.stop()
    eduframe_server.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
