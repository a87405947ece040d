"""Print whether a Celery worker's memory grows while it books 10,000 invoices (a table of RSS per 500 booked).

Setup: both simulators in this process over real HTTP on loopback, Exact's limits raised out of reach (a
million calls a window, 10**9 a day and a contract) but still announced in its headers, so the budget
bookkeeping runs as in production; Eduframe's limit off. `--tenants` installations, each in its own Exact
division with its own Eduframe token, share `--invoices` invoices to catch up (five per customer: new and
known customers both), marked due by the bulk path reconciliation uses. ONE real `celery worker` books them
on PostgreSQL and Redis: the production pool, prefork, with `--concurrency 1` and without
`--max-tasks-per-child` (production may recycle pool processes with it, which would hide a leak, not cure it).
The tasks run in the pool process, so that process's VmRSS (/proc/<pid>/status) is the figure; the prefork
parent's is shown beside it. This script plays beat's dispatcher run (every second).

Figure: growth of the pool process's RSS from `--warm-up` booked invoices (imports, connections, caches
filled once) to the end, beside the target "no growth", read as less than `--max-growth-mb` (5 MB, about
0.5 KB per invoice over 9,000 invoices: any object kept per invoice exceeds that, while the allocator's own
drift, arenas not handed back, stays within a few MB). Also the slope of a least-squares line through the
samples after the warm-up. Exits 1 when an invoice is not booked exactly once (one entry per YourRef in its
division, every record booked), the pool process was replaced during the run, or the growth target is missed.

Run (PostgreSQL and Redis must answer; the database is emptied and migrated):
    .venv/bin/python bench/worker_memory.py --database-url postgres://postgres@127.0.0.1:5432/eduexact_bench \
        --broker-url redis://127.0.0.1:6379/0 [--invoices 10000 --tenants 5 --pool prefork]
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._env import add_service_args, check_service_args, django_for_bench  # noqa: E402

POOLS = {"prefork": ["--pool=prefork", "--concurrency=1"], "solo": ["--pool=solo"]}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000, help="invoices to book in all")
    parser.add_argument("--tenants", type=int, default=5, help="installations sharing them")
    parser.add_argument("--sample-every", type=int, default=500, help="booked invoices between RSS samples")
    parser.add_argument("--warm-up", type=int, default=1000, help="booked invoices before growth is counted")
    parser.add_argument("--max-growth-mb", type=float, default=5.0, help="the 'no growth' threshold")
    parser.add_argument("--pool", choices=sorted(POOLS), default="prefork", help="prefork (production) or solo")
    parser.add_argument("--timeout", type=int, default=7200, help="give up after this many seconds")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="print where the task process's memory grew (slower; not the figure)"
    )
    add_service_args(parser)
    args = parser.parse_args()
    check_service_args(parser, args)
    if args.invoices <= args.warm_up:
        parser.error("--invoices must exceed --warm-up")
    return args


ARGS = _args()
WORK_DIR = django_for_bench(
    prefix="eduexact-bench-memory-",
    database_url=ARGS.database_url,
    broker_url=ARGS.broker_url,
    SYNC_TASKS_PER_TENANT="1",
    SYNC_TASKS_IN_FLIGHT=str(ARGS.tenants + 1),
)
TRACE_FILE = Path(WORK_DIR) / "tracemalloc.txt"
if ARGS.tracemalloc:  # read by bench/_traced_worker.py in the worker
    os.environ["EDUEXACT_BENCH_TRACEMALLOC"] = str(TRACE_FILE)
    os.environ["EDUEXACT_BENCH_TRACEMALLOC_EVERY"] = str(ARGS.sample_every)

import redis  # noqa: E402

from bench._connect import add_invoices, entries_per_ref, make_tenant, reset_database, start_simulators  # noqa: E402
from bench._workers import child_pids, clear_queue, start_workers, stop_workers, vm_rss_mb  # noqa: E402
from sync.models import InvoiceRecord  # noqa: E402
from sync.services.invoice_dispatch import invoices_dispatch  # noqa: E402
from sync.services.invoice_queue import invoices_enqueue_listed  # noqa: E402

FIRST_DIVISION = 4_000_000
GENEROUS = 10**9


def lift_limits(exact, eduframe) -> None:
    """Limits out of reach, headers still sent: the bench is about memory, not waiting for budgets."""
    exact.limits.minutely_limit = 10**6
    exact.limits.daily_limit = GENEROUS
    exact.fair_use.contract_daily_limit = GENEROUS
    eduframe.rate_limit = None


def task_process(parent: int) -> int:
    """The process that runs the tasks: the prefork pool's one child, or the solo worker itself."""
    if ARGS.pool == "solo":
        return parent
    for _ in range(100):
        children = child_pids(parent)
        if children:
            return children[0]
        time.sleep(0.2)
    raise RuntimeError("the prefork worker started no pool process")


def booked_count(tenants) -> int:
    return InvoiceRecord.objects.filter(installation__in=tenants, state=InvoiceRecord.State.BOOKED).count()


def book_and_sample(tenants, worker, pid: int) -> tuple[list[tuple[int, float, float, float]], list[str]]:
    """Play beat's dispatcher until every invoice is booked; sample (booked, seconds, pool RSS, parent RSS)."""
    problems: list[str] = []
    samples = [(0, 0.0, vm_rss_mb(pid), vm_rss_mb(worker.pid))]
    started, next_sample, booked = time.monotonic(), ARGS.sample_every, 0
    while booked < ARGS.invoices and time.monotonic() - started < ARGS.timeout:
        time.sleep(1)
        invoices_dispatch()
        booked = booked_count(tenants)
        if worker.poll() is not None:
            problems.append(f"the worker exited with {worker.returncode}")
            break
        if booked >= next_sample or booked >= ARGS.invoices:
            if ARGS.pool == "prefork" and child_pids(worker.pid) != [pid]:
                problems.append(f"the pool process {pid} was replaced by {child_pids(worker.pid)}")
                break
            samples.append((booked, time.monotonic() - started, vm_rss_mb(pid), vm_rss_mb(worker.pid)))
            next_sample = (booked // ARGS.sample_every + 1) * ARGS.sample_every
    if booked < ARGS.invoices:
        problems.append(f"{booked} / {ARGS.invoices} invoices booked when the run stopped")
    return samples, problems


def check_once(exact, tenants) -> list[str]:
    """Every invoice booked, with exactly one entry carrying its number as YourRef in its tenant's division."""
    expected = set()
    for installation in tenants:
        division = installation.settings.division
        numbers = InvoiceRecord.objects.filter(installation=installation).values_list("number", flat=True)
        expected |= {(division, number) for number in numbers}
    refs = entries_per_ref(exact, {division for division, _ in expected})
    problems = [f"{count} entries for YourRef {ref} in division {division}" for (division, ref), count in
                refs.items() if count != 1][:10]  # fmt: skip
    missing = expected - set(refs)
    extra = set(refs) - expected
    if missing:
        problems.append(f"{len(missing)} invoices without an entry, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"{len(extra)} entries for no invoice of the run, e.g. {sorted(extra)[:3]}")
    if len(expected) != ARGS.invoices:
        problems.append(f"{len(expected)} invoice records for {ARGS.invoices} invoices")
    return problems


def slope_kb_per_1000(samples) -> float:
    """Least-squares slope of RSS over booked invoices, after the warm-up, in KB per 1,000 invoices."""
    points = [(booked, rss) for booked, _, rss, _ in samples if booked >= ARGS.warm_up]
    if len(points) < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return 1024 * 1000 * num / den if den else float("nan")


def report(samples, problems: list[str], pid: int) -> int:
    pool = "prefork --concurrency 1, pool process" if ARGS.pool == "prefork" else "solo, the worker process"
    print(f"Worker memory: {ARGS.invoices} invoices over {ARGS.tenants} tenants, one celery worker ({pool} {pid}),")
    print("PostgreSQL and Redis, both simulators over HTTP in the bench process (not measured), Exact's limits lifted.")
    print()
    print(f"{'booked':>8}  {'minutes':>7}  {'task process RSS':>16}  {'parent RSS':>10}")
    for booked, seconds, rss, parent_rss in samples:
        parent = f"{parent_rss:8.1f} MB" if ARGS.pool == "prefork" else "-"
        print(f"{booked:>8}  {seconds / 60:7.1f}  {rss:13.1f} MB  {parent:>10}")
    after = [s for s in samples if s[0] >= ARGS.warm_up]
    growth = after[-1][2] - after[0][2] if len(after) >= 2 else float("nan")
    met = growth < ARGS.max_growth_mb
    print()
    print(f"{'figure':<48}  {'measured':<22}  target")
    label = f"growth from {after[0][0] if after else ARGS.warm_up:,} to {samples[-1][0]:,} invoices"
    print(
        f"{label:<48}  {growth:+.1f} MB{'':<14}  no growth (< {ARGS.max_growth_mb:g} MB)" + ("" if met else " NOT MET")
    )
    print(f"{'slope after the warm-up (least squares)':<48}  {slope_kb_per_1000(samples):+.0f} KB / 1,000 invoices")
    if not met:
        problems.append(f"the task process grew {growth:.1f} MB after the warm-up")
    print()
    if problems:
        print(f"CHECK FAILED ({len(problems)}):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"check: OK: {ARGS.invoices} invoices booked, one Exact entry each (one per YourRef in its division)")
    return 0


def main() -> int:
    reset_database()
    exact_server, eduframe_server, exact, eduframe = start_simulators()
    lift_limits(exact, eduframe)
    tenants = [make_tenant(n, exact_server, exact, eduframe, division=FIRST_DIVISION + n) for n in range(ARGS.tenants)]
    invoices = add_invoices(eduframe, ARGS.invoices)
    clear_queue(redis.Redis.from_url(ARGS.broker_url))
    workers = start_workers(
        1,
        exact_url=exact_server.url,
        eduframe_url=eduframe_server.url,
        work_dir=WORK_DIR,
        pool=POOLS[ARGS.pool],
        app="bench._traced_worker" if ARGS.tracemalloc else "eduexact_site",
    )
    atexit.register(stop_workers, workers)
    pid = task_process(workers[0].pid)
    time.sleep(3)  # started and connected before the first sample
    share = -(-ARGS.invoices // ARGS.tenants)
    for n, installation in enumerate(tenants):
        mine = invoices[n * share : (n + 1) * share]  # a customer's five invoices in one division
        invoices_enqueue_listed(installation=installation, listed=mine, ids=[], trigger="reconcile")
    samples, problems = book_and_sample(tenants, workers[0], pid)
    stop_workers(workers)
    problems += check_once(exact, tenants)
    if problems:
        print((Path(WORK_DIR) / "worker-0.log").read_text()[-3000:], file=sys.stderr)
    if ARGS.tracemalloc and TRACE_FILE.exists():
        print(TRACE_FILE.read_text())
    return report(samples, problems, pid)


if __name__ == "__main__":
    sys.exit(main())
