"""Settings, read from the environment (django-environ); a `.env` file beside manage.py is read too.

Safe by default: DEBUG is off unless asked for, and then SECRET_KEY and TOKEN_ENCRYPTION_KEY are
required. The embedded defaults (SQLite, a filesystem Celery broker) let the service run on a machine
with nothing but Python; production and CI set DATABASE_URL and CELERY_BROKER_URL.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from pathlib import Path
from urllib.parse import urlsplit

# authlib 1.9 announces a move to "httpx2" on import; its httpx client works, and the notice is noise.
# authlib installs an "always" filter for its notices when imported: ours must come after it to win.
import authlib.deprecate  # noqa: F401
import environ
from django.core.exceptions import ImproperlyConfigured

warnings.filterwarnings("ignore", message="The httpx module is deprecated")

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))


def env_str(name: str, default: str) -> str:
    """A variable's value, or `default` when it is unset or empty: an empty line in `.env` or a compose file
    (`PUBLIC_URL=`) means "not set", as the contract's defaults are written."""
    return env(name, default="") or default


DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env("EDUEXACT_VAR_DIR", default=str(BASE_DIR / "var")))


def _development_secret() -> str:
    """Make (once) and keep a random key for development; never used with DEBUG off."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = _development_secret()

TOKEN_ENCRYPTION_KEY = env("TOKEN_ENCRYPTION_KEY", default="")
if not TOKEN_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEY is required when DEBUG is off. Make one with "
            "`DEBUG=1 python manage.py generate_encryption_key` (it prints a new Fernet key) and set it."
        )
    # Development only: a Fernet key derived from SECRET_KEY.
    TOKEN_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()

PUBLIC_URL = env_str("PUBLIC_URL", "http://localhost:8000").rstrip("/")
_public_host = urlsplit(PUBLIC_URL).hostname or "localhost"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[_public_host, "localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_URL])
# HTTPS settings follow PUBLIC_URL's scheme (https: all on), each overridable: a service reached over plain
# http (the demo, a local acceptance run) must not redirect to https or send cookies the browser drops.
_https = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_https)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_https)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_https)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_https)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_https)
# The Exact and Eduframe OAuth redirects come back cross-site as top-level GETs: Lax keeps the session.
SESSION_COOKIE_SAMESITE = "Lax"
# Trusted only when configured (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto behind a TLS-terminating proxy that
# sets it): trusted without such a proxy, any client could claim https.
_proxy_header = env("SECURE_PROXY_SSL_HEADER", default="").strip()
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_").removeprefix("HTTP_"), "https")
# The path of the Django admin (the contract's DJANGO_ADMIN_URL): no leading slash, one trailing slash.
DJANGO_ADMIN_URL = (env("DJANGO_ADMIN_URL", default="admin/").strip("/") or "admin") + "/"

# External APIs. Exact: unset base URL means the installation's region decides.
EXACT_CLIENT_ID = env_str("EXACT_CLIENT_ID", "eduexact-sandbox")
EXACT_CLIENT_SECRET = env_str("EXACT_CLIENT_SECRET", "sandbox-secret")
EXACT_BASE_URL = env("EXACT_BASE_URL", default="").rstrip("/") or None
EDUFRAME_BASE_URL = env_str("EDUFRAME_BASE_URL", "https://api.eduframe.nl").rstrip("/")
EDUFRAME_CLIENT_ID = env("EDUFRAME_CLIENT_ID", default="") or None
EDUFRAME_CLIENT_SECRET = env("EDUFRAME_CLIENT_SECRET", default="") or None
HTTP_TIMEOUT_SECONDS = env.float("HTTP_TIMEOUT_SECONDS", default=20.0)
# How long the sync's history is kept (see sync/services/history_prune.py).
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=90)
SYNC_ATTEMPT_RETENTION_DAYS = env.int("SYNC_ATTEMPT_RETENTION_DAYS", default=365)
# The webhook receiver under abuse (sync/views.py): bodies over the limit get a 413, at most this much of a body
# is stored; over its rate an installation's webhooks are stored and processed later, over the hard limit they
# get a 429 with Retry-After.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
WEBHOOK_STORED_BODY_CHARS = env.int("WEBHOOK_STORED_BODY_CHARS", default=4096)
WEBHOOK_RATE_LIMIT_PER_MINUTE = env.int("WEBHOOK_RATE_LIMIT_PER_MINUTE", default=300)
WEBHOOK_HARD_LIMIT_PER_MINUTE = env.int("WEBHOOK_HARD_LIMIT_PER_MINUTE", default=10 * WEBHOOK_RATE_LIMIT_PER_MINUTE)
# How long Eduframe reference data (VAT rates, the VAT-number field, course editions) is reused.
EDUFRAME_REFERENCE_CACHE_SECONDS = env.int("EDUFRAME_REFERENCE_CACHE_SECONDS", default=300)
# The bearer token of the Prometheus scraper; unset, /metrics answers 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Alert e-mails: EMAIL_URL as django-environ reads it (smtp://user:pass@host:587, smtp+tls://...); unset, the console.
vars().update(env.email_url_config(env_str("EMAIL_URL", "consolemail://")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "EduExact <eduexact@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The local hour after which the daily digest of invoices that need attention is sent.
ALERT_DIGEST_HOUR = env.int("ALERT_DIGEST_HOUR", default=7)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "plugin",
    "sync",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "monitoring.middleware.WebhookAnswerMetrics",
]

ROOT_URLCONF = "eduexact_site.urls"
WSGI_APPLICATION = "eduexact_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# An empty variable counts as unset.
DATABASES = {"default": env.db_url_config(env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
    # A file, not memory, so that a real Celery worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Celery. The embedded default broker is a folder on disk: web, worker and beat on one machine
# share it without any server. Production and CI use redis://.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # `filesystem:///some/folder` keeps the queue in that folder; a bare `filesystem://` under var/.
    _queue_path = urlsplit(CELERY_BROKER_URL).path.rstrip("/")
    _queue_dir = Path(_queue_path) if _queue_path else VAR_DIR / "celery-queue"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # acks_late: a task that is not acknowledged within an hour goes back to the queue.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# The dispatcher (sync/services/invoice_dispatch.py): tasks at once per tenant and in all; the broker never
# holds more sync tasks than SYNC_TASKS_IN_FLIGHT (set it to about twice the worker slots of all machines).
SYNC_TASKS_PER_TENANT = env.int("SYNC_TASKS_PER_TENANT", default=1)
SYNC_TASKS_IN_FLIGHT = env.int("SYNC_TASKS_IN_FLIGHT", default=16)
# Reconciliation lists open invoices on every run, paid and expired ones in a full scan this often.
RECONCILE_FULL_SCAN_HOURS = env.int("RECONCILE_FULL_SCAN_HOURS", default=24)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Catches invoices whose webhook never arrived.
    "reconcile-installations": {
        "task": "sync.tasks.reconcile_installations",
        "schedule": env.int("RECONCILE_EVERY_SECONDS", default=15 * 60),
    },
    # The dispatcher: sends due work once a tenant's budget has reset or a retry's backoff has passed.
    # Often, and cheap (one indexed query when nothing is due); a run missed is simply replaced by the next.
    "retry-due-invoices": {
        "task": "sync.tasks.retry_due_invoices",
        "schedule": env.int("RETRY_SCAN_EVERY_SECONDS", default=2),
        "options": {"expire_seconds": env.int("RETRY_SCAN_EVERY_SECONDS", default=2)},
    },
    # Webhooks deferred by the receiver's rate limit (or whose task was lost) are processed.
    "queue-deferred-webhooks": {
        "task": "sync.tasks.queue_deferred_webhooks",
        "schedule": env.int("WEBHOOK_SWEEP_EVERY_SECONDS", default=60),
    },
    # Invoices whose worker died mid-booking (the claim's heartbeat stopped) are queued again.
    "recover-abandoned-claims": {
        "task": "sync.tasks.recover_abandoned_claims",
        "schedule": 30,
    },
    # Reconciliation runs whose worker died are shown as failed (with why), so they can be run again.
    "recover-abandoned-reconciliation-runs": {
        "task": "sync.tasks.recover_abandoned_reconciliation_runs",
        "schedule": 60,
    },
    # Old processed webhooks and superseded attempts are deleted (each invoice keeps its latest attempt).
    "prune-sync-history": {
        "task": "sync.tasks.prune_sync_history",
        "schedule": 24 * 60 * 60,
    },
    # Exact refresh tokens die after about 30 days unused: refresh idle connections weekly.
    "keep-exact-connections-alive": {
        "task": "plugin.tasks.keep_exact_connections_alive",
        "schedule": 6 * 60 * 60,
    },
    # Alerts: incidents (a safety net for the at-once check, and the budget and token warnings), the daily digest.
    "check-alert-incidents": {"task": "monitoring.tasks.alert_incidents_check_all", "schedule": 5 * 60},
    "send-alert-digests": {"task": "monitoring.tasks.alert_digests_send", "schedule": 60 * 60},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"webhook_secrets": {"()": "eduexact_site.log_filters.RedactWebhookSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # It prints the path of every answer of 400 and above, and the webhook path carries the secret.
        "django.request": {"filters": ["webhook_secrets"]},
        # The filesystem broker has no host, and kombu warns about that on every connection.
        **({"kombu.connection": {"level": "ERROR"}} if CELERY_BROKER_URL.startswith("filesystem://") else {}),
    },
}
