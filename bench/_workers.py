"""Real Celery worker processes for the bench scripts, the broker's queue, and what /proc says about them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELERY_QUEUE = "celery"
# kombu's Redis transport keeps one list per priority step besides the queue itself.
QUEUE_KEYS = [CELERY_QUEUE] + [f"{CELERY_QUEUE}\x06\x16{step}" for step in (3, 6, 9)]


def start_workers(
    count: int, *, exact_url: str, eduframe_url: str, work_dir: str, pool: list[str], app: str = "eduexact_site"
) -> list[subprocess.Popen]:
    """`count` `celery worker` processes with the simulators' URLs, each logging to work_dir/worker-<n>.log."""
    env = {**os.environ, "EXACT_BASE_URL": exact_url, "EDUFRAME_BASE_URL": eduframe_url}
    workers = []
    for n in range(count):
        log = open(Path(work_dir) / f"worker-{n}.log", "w")  # noqa: SIM115 (closed with the process)
        command = [sys.executable, "-m", "celery", "-A", app, "worker", *pool, "-l", "warning"]
        command += ["-n", f"bench{n}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """A warm shutdown (SIGTERM), then a kill for a worker that does not stop within 30 s."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def clear_queue(broker) -> None:
    """Empty the bench's queue in its Redis db (a previous run's leftovers would be booked twice)."""
    broker.delete(*QUEUE_KEYS)


def broker_depth(broker) -> int:
    """Messages waiting in Redis: the queue and its priority sub-queues."""
    return sum(broker.llen(key) for key in QUEUE_KEYS)


def process_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return cpu, rss


def vm_rss_mb(pid: int) -> float:
    """VmRSS of a process in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for process {pid}")


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a prefork worker's pool processes), from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)
