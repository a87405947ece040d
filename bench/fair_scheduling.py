"""Print how EduExact shares Exact's rate limits between many tenants catching up at once (a table).

Setup: both simulators in this process over real HTTP on loopback, the Exact one with a shortened rate-limit
window (`--window` seconds, `--limit` calls per window per division, announced in its reset headers like the
real minute); `--tenants` installations, each in its own Exact division with its own Eduframe token, each
with `--invoices` invoices to catch up (marked due by the same bulk path reconciliation uses); `--workers`
real `celery worker --pool=solo` processes on PostgreSQL and Redis. This script plays beat's dispatcher run
(`sync.tasks.retry_due_invoices`, every second). Meanwhile one more tenant without backlog gets a new invoice
through the real webhook view at half the pace its own Exact budget books at (faster, it would be a tenant with
a backlog of its own), and the time from webhook to booked is measured, with where that time went.

Figures, each beside its target: budget use of each division while it had work (calls / (limit x windows),
over the windows between its first call's and its last call's), 429s, invoices booked exactly once (one entry per
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
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._env import add_service_args, check_service_args, django_for_bench  # noqa: E402


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--invoices", type=int, default=200, help="invoices to catch up per tenant")
    parser.add_argument("--workers", type=int, default=4, help="celery worker processes (--pool=solo)")
    parser.add_argument("--window", type=int, default=6, help="seconds of the simulator's rate-limit window")
    parser.add_argument("--limit", type=int, default=6, help="Exact calls per window per division")
    parser.add_argument(
        "--webhook-every",
        type=float,
        default=None,
        help="seconds between the fresh tenant's invoices (default: half the pace its own Exact budget books at)",
    )
    parser.add_argument("--tasks-per-tenant", type=int, default=1, help="SYNC_TASKS_PER_TENANT")
    parser.add_argument(
        "--tasks-in-flight",
        type=int,
        default=0,
        help="SYNC_TASKS_IN_FLIGHT (default: twice the worker processes, as the README advises)",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="give up after this many seconds")
    add_service_args(parser)
    args = parser.parse_args()
    check_service_args(parser, args)
    return args


ARGS = _args()
IN_FLIGHT = ARGS.tasks_in_flight or 2 * ARGS.workers
WORK_DIR = django_for_bench(
    prefix="eduexact-bench-fair-",
    database_url=ARGS.database_url,
    broker_url=ARGS.broker_url,
    SYNC_TASKS_PER_TENANT=str(ARGS.tasks_per_tenant),
    SYNC_TASKS_IN_FLIGHT=str(IN_FLIGHT),
)

import redis  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._connect import add_invoices, entries_per_ref, make_tenant, reset_database, start_simulators  # noqa: E402
from bench._workers import broker_depth, clear_queue, process_stats, start_workers, stop_workers  # noqa: E402
from plugin.models import Installation  # noqa: E402
from sync.models import InvoiceRecord, SyncAttempt, WebhookEvent  # noqa: E402
from sync.services.invoice_dispatch import CALLS_NEW_ENTRY, invoices_dispatch  # noqa: E402
from sync.services.invoice_queue import invoices_enqueue_listed  # noqa: E402

FIRST_DIVISION = 3_000_000
TARGETS = {"budget": 0.95, "p95": 5.0, "cpu_ms": 20.0}


def shorten_window(exact) -> None:
    exact.limits.window_seconds, exact.limits.minutely_limit = ARGS.window, ARGS.limit
    exact.limits.daily_limit = 10**9  # the benchmark is about the window, not the day


def fresh_capacity_every() -> float:
    """Seconds per booking the fresh tenant's own budget allows: a known customer's booking spends 3 calls
    (booking_calls_estimate), so a window of `limit` calls books limit // 3 of them. Invoices sent faster than
    that are a backlog of the tenant's own, which no scheduling can book at once."""
    per_window = max(1, ARGS.limit // CALLS_NEW_ENTRY)
    return ARGS.window / per_window


def bench_tenant(n: int, exact_server, exact, eduframe) -> Installation:
    return make_tenant(n, exact_server, exact, eduframe, division=FIRST_DIVISION + n)


def budget_use(exact, divisions: set[int]) -> dict[int, float]:
    """Per division: calls / (limit x windows), over the windows strictly between its first call's and its last
    call's. The last is where the work ran out; the first began at whatever moment of the window the run started
    (with 3 windows a tenant, counting it swung the figure between 69 and 96 % for runs of the same length)."""
    with exact.lock:
        log = [r for r in exact.request_log if r.get("division") in divisions and r["status"] != 429]
    windows: dict[int, list[int]] = {}
    for request in log:
        at = timezone.datetime.fromisoformat(request["time"]).timestamp()
        windows.setdefault(request["division"], []).append(int(at // ARGS.window))
    use = {}
    for division, spans in windows.items():
        first, last = min(spans), max(spans)
        inner = [w for w in spans if first < w < last]
        if last - first > 1:
            use[division] = len(inner) / (ARGS.limit * (last - first - 1))
    return use


def budget_ceiling(tenants) -> dict[int, float]:
    """Per tenant: the best `budget_use` any scheduler of whole bookings could reach with the calls its bookings
    made (each attempt's Exact calls, packed first-fit decreasing into windows of `limit`, the least full last
    window left out as budget_use leaves it out). A booking starts only when its window holds all of its calls:
    at 6 calls a window, a new customer's booking (4 calls) leaves 2 that no booking fits, whatever the order."""
    calls: dict[int, list[int]] = {}
    rows = SyncAttempt.objects.filter(invoice__installation__in=tenants, exact_calls__gt=0)
    for tenant, made in rows.values_list("invoice__installation_id", "exact_calls"):
        calls.setdefault(tenant, []).append(made)
    ceiling = {}
    for tenant, bookings in calls.items():
        windows: list[int] = []
        for made in sorted(bookings, reverse=True):
            fits = next((n for n, used in enumerate(windows) if used + made <= ARGS.limit), None)
            if fits is None:
                windows.append(made)
            else:
                windows[fits] += made
        if len(windows) > 1:
            windows.sort(reverse=True)
            ceiling[tenant] = sum(windows[:-1]) / (ARGS.limit * (len(windows) - 1))
    return ceiling


def webhook(client: Client, installation: Installation, invoice_id: int) -> None:
    body = {"educator": installation.educator_slug, "event": "invoice.created"}
    body |= {"entity_type": "Invoice", "entity_id": invoice_id}
    url = f"/webhooks/eduframe/{installation.pk}/{installation.webhook_secret}"
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content


def main() -> int:
    reset_database()
    exact_server, eduframe_server, exact, eduframe = start_simulators()
    shorten_window(exact)
    tenants = [bench_tenant(n, exact_server, exact, eduframe) for n in range(ARGS.tenants)]
    fresh = bench_tenant(ARGS.tenants, exact_server, exact, eduframe)
    backlog = add_invoices(eduframe, ARGS.tenants * ARGS.invoices)
    broker = redis.Redis.from_url(ARGS.broker_url)
    clear_queue(broker)
    workers = start_workers(
        ARGS.workers,
        exact_url=exact_server.url,
        eduframe_url=eduframe_server.url,
        work_dir=WORK_DIR,
        pool=["--pool=solo"],
    )
    atexit.register(stop_workers, workers)
    time.sleep(5)  # started: their start-up CPU is not the bookings'
    cpu_at_start = sum(process_stats(w.pid)[0] for w in workers)
    started = time.monotonic()
    for n, tenant in enumerate(tenants):
        mine = backlog[n * ARGS.invoices : (n + 1) * ARGS.invoices]
        invoices_enqueue_listed(installation=tenant, listed=mine, ids=[], trigger="reconcile")
    client, asked, depth = Client(HTTP_HOST="localhost"), {}, []
    client.get("/healthz")  # the first request builds Django's handler (a second or two): not a webhook's latency
    vat = eduframe.add_vat("21% fresh", "21")
    account = eduframe.add_account("Fresh B.V.", email="fresh@example.nl")
    next_webhook = time.monotonic()
    webhook_every = ARGS.webhook_every or 2 * fresh_capacity_every()
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
            next_webhook += webhook_every
        booked = InvoiceRecord.objects.filter(installation__in=tenants, state=InvoiceRecord.State.BOOKED).count()
        if booked >= total:
            break
        time.sleep(1)
    elapsed = time.monotonic() - started
    time.sleep(5)  # the fresh tenant's last invoices
    stats = [process_stats(w.pid) for w in workers]
    stop_workers(workers)
    return report(exact, tenants, fresh, asked, depth, stats, elapsed, cpu_at_start, webhook_every)


def report(exact, tenants, fresh, asked, depth, stats, elapsed, cpu_at_start, webhook_every) -> int:
    divisions = {FIRST_DIVISION + n for n in range(ARGS.tenants)}
    use, ceiling = budget_use(exact, divisions), budget_ceiling(tenants)
    with exact.lock:
        too_many = sum(1 for r in exact.request_log if r["status"] == 429)
    refs = entries_per_ref(exact, divisions)
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
         f"{ARGS.limit} calls / {ARGS.window} s window, {ARGS.tasks_per_tenant} task(s) per tenant", ""),
        ("fresh tenant: a new invoice every", f"{webhook_every:.1f} s (its budget books one every "
         f"{fresh_capacity_every():.1f} s)", "within its budget"),
        ("wall time", f"{elapsed:.0f} s", ""),
        ("budget used while busy (min / median)", f"{min(use.values(), default=0):.1%} / "
         f"{statistics.median(use.values()) if use else 0:.1%}", f">= {TARGETS['budget']:.0%}"),
        ("best possible with whole bookings (median)", f"{statistics.median(ceiling.values()) if ceiling else 0:.1%}",
         "(this mix of bookings' calls, this window)"),
        ("429 answers from Exact", str(too_many), "0"),
        ("invoices booked", f"{booked} / {total}", f"{total}"),
        ("entries with their YourRef exactly once", f"{once} / {len(refs)}", f"{total}"),
        # The queue also holds beat's and the webhooks' tasks: sync tasks alone stay within SYNC_TASKS_IN_FLIGHT.
        ("deepest broker queue, all tasks (sampled each second)", str(max(depth, default=0)),
         f"<= {ARGS.tenants + ARGS.workers} (tenants + workers; sync tasks <= {IN_FLIGHT})"),
        ("fresh tenant: webhook to booked p95", f"{p95:.2f} s ({len(latencies)} invoices)", f"< {TARGETS['p95']:.0f} s"),
        ("worker process time per booked invoice", f"{cpu_ms:.1f} ms", f"<= {TARGETS['cpu_ms']:.0f} ms"),
        ("worker RSS at the end (max)", f"{max(s[1] for s in stats):.0f} MB", "no growth"),
    ]  # fmt: skip
    rows += wait_rows(fresh, asked) + churn_rows(tenants)
    width = max(len(r[0]) for r in rows)
    print(f"{'figure'.ljust(width)}  {'measured'.ljust(44)}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value.ljust(44)}  {target}")
    return 0 if (too_many == 0 and booked == total and once == total) else 1


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "-"


def wait_rows(fresh, asked) -> list[tuple[str, str, str]]:
    """Where the fresh tenant's invoices waited: webhook -> event processed -> first task start -> booked."""
    processed = dict(
        WebhookEvent.objects.filter(installation=fresh, entity_id__in=list(asked)).values_list(
            "entity_id", "processed_at"
        )
    )
    first_start: dict[int, object] = {}
    tries: dict[int, int] = {}
    for ef_id, started in (
        SyncAttempt.objects.filter(invoice__installation=fresh)
        .order_by("started_at")
        .values_list("invoice__eduframe_invoice_id", "started_at")
    ):
        first_start.setdefault(ef_id, started)
        tries[ef_id] = tries.get(ef_id, 0) + 1
    booked = dict(InvoiceRecord.objects.filter(installation=fresh).values_list("eduframe_invoice_id", "booked_at"))
    to_event, to_start, to_booked = [], [], []
    for ef_id, at in asked.items():
        if processed.get(ef_id):
            to_event.append((processed[ef_id] - at).total_seconds())
            if first_start.get(ef_id):
                to_start.append((first_start[ef_id] - processed[ef_id]).total_seconds())
                if booked.get(ef_id):
                    to_booked.append((booked[ef_id] - first_start[ef_id]).total_seconds())
    return [
        ("fresh: webhook to event processed (median)", _median(to_event), ""),
        ("fresh: event processed to first task start (median)", _median(to_start), ""),
        ("fresh: first task start to booked (median)", _median(to_booked), ""),
        ("fresh: tasks per invoice (max)", str(max(tries.values(), default=0)), "1 (first: cold lookups)"),
    ]


def churn_rows(tenants) -> list[tuple[str, str, str]]:
    """Attempts that ended waiting for a budget, and those among them that had spent Exact calls first."""
    deferred = SyncAttempt.objects.filter(invoice__installation__in=tenants, message__startswith="Waits for")
    part_way = deferred.filter(exact_calls__gt=0)
    counts = f"{deferred.count()} / {part_way.count()}"
    # A tenant's first booking fills the lookup cache (journals, GL accounts, VAT codes) before its budget check:
    # with a 6-call window those calls can leave too few for the booking, which then waits, its lookups kept.
    return [("catch-up attempts deferred / after Exact calls", counts, "first booking of a tenant at most")]


if __name__ == "__main__":
    sys.exit(main())
