"""What the bench scripts on PostgreSQL and Redis share before Django starts: arguments, environment, setup.

Nothing here imports a model: a script calls `django_for_bench` first, then imports bench._connect and the
product's modules.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import tempfile


def add_service_args(parser: argparse.ArgumentParser) -> None:
    """--database-url and --broker-url, from DATABASE_URL and CELERY_BROKER_URL by default."""
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--broker-url", default=os.environ.get("CELERY_BROKER_URL", ""))


def check_service_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Real workers need a server database and broker: the embedded defaults are one machine's only."""
    if not args.database_url.startswith("postgres") or not args.broker_url.startswith("redis"):
        parser.error("--database-url postgres://... and --broker-url redis://... are required")


def django_for_bench(*, prefix: str, database_url: str, broker_url: str, **extra: str) -> str:
    """Set the environment the bench and its workers share (`extra` on top), start Django; return a work folder
    that is removed at exit (EDUEXACT_VAR_DIR, worker logs)."""
    work_dir = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="eduexact_site.settings",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        TOKEN_ENCRYPTION_KEY=os.environ.get("TOKEN_ENCRYPTION_KEY", "bench-only-token-key"),
        EDUEXACT_VAR_DIR=work_dir,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        DEBUG="false",
        **extra,
    )
    import django

    django.setup()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulators' access log is noise here
    return work_dir
