"""Processes, ports, HTTP and polling for the contract suite: the service as an outsider starts and sees it.

Everything here talks to the service and the simulators over HTTP or runs their commands as subprocesses,
with nothing but the environment variables of the contract (docs: ../shared/spec/contract.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(Path(sys.executable))
CELERY = str(Path(sys.executable).with_name("celery"))
START_TIMEOUT = 60.0
# Variables a process needs to run at all; everything else the service sees comes from the contract.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV")
EXACT_CLIENT = {"EXACT_CLIENT_ID": "eduexact-sandbox", "EXACT_CLIENT_SECRET": "sandbox-secret"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.25, what: str = "the condition"):
    """Poll until `predicate()` returns something truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(interval)


# --- HTTP -------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict

    def json(self):
        return json.loads(self.body or b"null")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(method: str, url: str, payload=None, timeout: float = 30.0) -> Answer:
    """One request, redirects not followed, errors returned as answers."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), dict(error.headers))


def answers(url: str, status: int = 200) -> bool:
    try:
        return http("GET", url, timeout=3).status == status
    except OSError:
        return False


class Simulator:
    """One simulator's control API under /_sandbox/."""

    def __init__(self, url: str):
        self.url = url

    def control(self, method: str, path: str, payload=None):
        answer = http(method, f"{self.url}/_sandbox/{path.lstrip('/')}", payload)
        assert answer.status < 300, f"{method} /_sandbox/{path}: {answer.status} {answer.body[:500]!r}"
        return answer.json()

    def state(self) -> dict:
        return self.control("GET", "state")


# --- processes --------------------------------------------------------------------------------------------------


class Process:
    """A subprocess with its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()


@dataclass
class Databases:
    """A database and a broker of this run only, torn down with it."""

    url: str
    broker_url: str
    _drop: list = field(default_factory=list)

    def drop(self) -> None:
        for drop in self._drop:
            drop()


def _postgres_database(outer_url: str) -> tuple[str, callable]:
    import psycopg

    parts = urlsplit(outer_url)
    name = f"eduexact_contract_{uuid.uuid4().hex[:10]}"
    admin_url = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


CLAIM_KEY = "eduexact-contract-suite:claim"


def _redis_broker(outer_url: str):
    """A Redis database of its own on the outer Redis (numbers 15 down to 8 are the contract suite's).

    A database is claimed with SET NX (a live run elsewhere keeps its claim), emptied of what an earlier,
    interrupted run left behind, and emptied again when the service stops.
    """
    import redis

    parts = urlsplit(outer_url)
    for number in range(15, 7, -1):
        url = urlunsplit(parts._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if client.set(CLAIM_KEY, os.getpid(), nx=True, ex=3600):
            client.flushdb()
            client.set(CLAIM_KEY, os.getpid(), ex=3600)
            return url, client.flushdb
    raise RuntimeError("Every Redis database from 8 to 15 is claimed by a running contract suite.")


def private_databases(tmp: Path) -> Databases:
    """PostgreSQL / Redis when the outer environment uses them (CI), else SQLite and a filesystem broker."""
    outer_db, outer_broker = os.environ.get("DATABASE_URL", ""), os.environ.get("CELERY_BROKER_URL", "")
    drops = []
    if outer_db.startswith(("postgres://", "postgresql://")):
        db_url, drop = _postgres_database(outer_db)
        drops.append(drop)
    else:
        db_url = f"sqlite:///{tmp / 'eduexact.sqlite3'}"
    if outer_broker.startswith("redis://"):
        broker_url, flush = _redis_broker(outer_broker)
        drops.append(flush)
    else:
        broker_url = f"filesystem://{tmp / 'queue'}"
    return Databases(db_url, broker_url, drops)


class Service:
    """Both simulators, the web server and a Celery worker, as separate processes, on free ports."""

    def __init__(self, tmp: Path, extra_env: dict | None = None, beat: bool = False):
        self.tmp = tmp
        self.extra_env = dict(extra_env or {})  # more contract variables, e.g. EDUFRAME_CLIENT_ID/SECRET
        self.beat = beat  # also run `celery -A eduexact_site beat` (the scheduled retry scan and reconciliation)
        self.log_dir = tmp / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.exact_port, self.eduframe_port, self.web_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.exact = Simulator(f"http://127.0.0.1:{self.exact_port}")
        self.eduframe = Simulator(f"http://127.0.0.1:{self.eduframe_port}")
        self.processes: list[Process] = []
        self.databases: Databases | None = None
        self.env: dict = {}

    def contract_env(self) -> dict:
        env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
        env.update(
            DATABASE_URL=self.databases.url,
            CELERY_BROKER_URL=self.databases.broker_url,
            SECRET_KEY=f"contract-{uuid.uuid4().hex}",
            TOKEN_ENCRYPTION_KEY=f"contract-token-{uuid.uuid4().hex}",
            PUBLIC_URL=self.url,
            EXACT_BASE_URL=self.exact.url,
            EDUFRAME_BASE_URL=self.eduframe.url,
            **EXACT_CLIENT,
        )
        env.update(self.extra_env)
        return env

    def start(self) -> Service:
        self.databases = private_databases(self.tmp)
        self.env = self.contract_env()
        sandbox = [PYTHON, "-m", "sandbox", "--exact-port", str(self.exact_port)]
        self._spawn("sandbox", [*sandbox, "--eduframe-port", str(self.eduframe_port), "--demo"], env=self.env)
        migrate = self.manage("migrate", "--noinput", "-v0", timeout=180)
        assert migrate.returncode == 0, f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}"
        self._spawn("web", [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.web_port}"])
        worker = [CELERY, "-A", "eduexact_site", "worker", "--pool=solo", "-l", "info"]
        self._spawn("worker", [*worker, "--without-gossip", "--without-mingle", "--without-heartbeat"])
        if self.beat:
            self._spawn("beat", [CELERY, "-A", "eduexact_site", "beat", "-l", "info"])
        self._wait_up("sandbox", lambda: answers(f"{self.exact.url}/_sandbox/state") and self._eduframe_up())
        self._wait_up("web", lambda: answers(f"{self.url}/healthz"))
        self._wait_up("worker", lambda: " ready." in self.process("worker").log())
        if self.beat:
            self._wait_up("beat", lambda: "beat: Starting" in self.process("beat").log())
        return self

    def _eduframe_up(self) -> bool:
        return answers(f"{self.eduframe.url}/_sandbox/counts")

    def _spawn(self, name: str, command: list[str], env: dict | None = None) -> None:
        self.processes.append(Process(name, command, env or self.env, self.log_dir))

    def _wait_up(self, name: str, ready) -> None:
        process = self.process(name)

        def up():
            if not process.alive():
                raise RuntimeError(f"{name} exited with {process.process.returncode}:\n{process.log()}")
            return ready()

        wait_for(up, timeout=START_TIMEOUT, what=f"{name} to start")

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`python manage.py ...` as an operator runs it, with the service's environment."""
        return subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def logs(self, tail: int = 120) -> str:
        parts = []
        for process in self.processes:
            lines = process.log().splitlines()[-tail:]
            parts.append(f"----- {process.name} ({process.log_path}), last {len(lines)} lines -----")
            parts.extend(lines)
        return "\n".join(parts)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.databases is not None:
            self.databases.drop()


@contextmanager
def running_service(tmp: Path, **options):
    """Start a Service (printing its logs when it cannot start) and stop it afterwards."""
    running = Service(tmp, **options)
    try:
        running.start()
    except BaseException:
        print(running.logs())
        running.stop()
        raise
    try:
        yield running
    finally:
        running.stop()


def did_fail(request) -> bool:
    """Tell, in an autouse fixture's teardown, whether the test's setup or call failed."""
    reports = (getattr(request.node, f"report_{when}", None) for when in ("setup", "call"))
    return any(report is not None and report.failed for report in reports)
