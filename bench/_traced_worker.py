"""The service's Celery app with tracemalloc in the task process: for bench/worker_memory.py --tracemalloc only.

Started as `celery -A bench._traced_worker worker`: the product's app, plus signals that start tracemalloc in
the process that runs the tasks and, every EDUEXACT_BENCH_TRACEMALLOC_EVERY sync tasks, write to the file
EDUEXACT_BENCH_TRACEMALLOC the allocation sites that grew most since the first snapshot (taken after the
warm-up). Nothing in the product knows of it.
"""

from __future__ import annotations

import gc
import os
import tracemalloc

from celery.signals import task_postrun, worker_init, worker_process_init

from eduexact_site.celery import app

__all__ = ["app"]
OUT = os.environ.get("EDUEXACT_BENCH_TRACEMALLOC", "")
EVERY = int(os.environ.get("EDUEXACT_BENCH_TRACEMALLOC_EVERY", "500"))
_state: dict = {"tasks": 0, "first": None}


@worker_process_init.connect  # prefork: in the pool process
@worker_init.connect  # solo: in the worker itself
def start_tracing(**kwargs) -> None:
    if OUT and not tracemalloc.is_tracing():
        tracemalloc.start(10)


@task_postrun.connect
def snapshot_now_and_then(sender=None, **kwargs) -> None:
    if not OUT or getattr(sender, "name", "") != "sync.tasks.sync_invoice_task":
        return
    _state["tasks"] += 1
    if _state["tasks"] % EVERY:
        return
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if _state["first"] is None:
        _state["first"] = snapshot
        return
    stats = snapshot.compare_to(_state["first"], "traceback")
    with open(OUT, "a") as out:
        grown = sum(stat.size_diff for stat in stats) / 1024
        out.write(f"=== after {_state['tasks']} sync tasks: {grown:+.0f} KB traced since the first snapshot\n")
        for stat in stats[:12]:
            out.write(f"{stat.size_diff / 1024:+.1f} KB in {stat.count_diff:+d} blocks\n")
            for line in stat.traceback.format(limit=6):
                out.write(f"    {line}\n")
