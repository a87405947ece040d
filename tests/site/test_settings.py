"""The settings read from the environment, with safe production defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_in_subprocess(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "DEBUG"}}
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "eduexact_site.settings", "EDUEXACT_VAR_DIR": "var/test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _settings_in_subprocess({}, "settings.DEBUG")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_it_requires_a_token_encryption_key_when_debug_is_off():
    result = _settings_in_subprocess({"SECRET_KEY": "x" * 50}, "settings.DEBUG")
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEY is required" in result.stderr
    assert "DEBUG=1 python manage.py generate_encryption_key" in result.stderr  # how to make the first one


def test_it_runs_in_development_on_embedded_defaults():
    result = _settings_in_subprocess(
        {"DEBUG": "1", "DATABASE_URL": "", "CELERY_BROKER_URL": ""},
        "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, bool(settings.TOKEN_ENCRYPTION_KEY)",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout
    assert "filesystem://" in result.stdout
    assert "True" in result.stdout


def test_it_reads_the_exact_base_url_from_the_environment():
    result = _settings_in_subprocess(
        {"DEBUG": "1", "EXACT_BASE_URL": "http://127.0.0.1:9999/"}, "settings.EXACT_BASE_URL"
    )
    assert result.stdout.strip() == "http://127.0.0.1:9999"


def test_the_exact_base_url_is_unset_by_default_so_the_region_decides():
    result = _settings_in_subprocess({"DEBUG": "1", "EXACT_BASE_URL": ""}, "settings.EXACT_BASE_URL")
    assert result.stdout.strip() == "None"


def test_alert_mail_goes_where_email_url_says_and_to_the_console_when_unset():
    expression = "settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS, settings.DEFAULT_FROM_EMAIL"
    result = _settings_in_subprocess(
        {
            "DEBUG": "1",
            "EMAIL_URL": "smtp+tls://alerts:s3cret@mail.example.com:587",
            "DEFAULT_FROM_EMAIL": "EduExact <x@example.com>",
        },
        expression,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "django.core.mail.backends.smtp.EmailBackend mail.example.com 587 alerts True EduExact <x@example.com>"
    )
    result = _settings_in_subprocess({"DEBUG": "1", "EMAIL_URL": ""}, "settings.EMAIL_BACKEND")
    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_metrics_are_off_unless_a_token_is_set():
    assert (
        _settings_in_subprocess({"DEBUG": "1", "METRICS_TOKEN": ""}, "repr(settings.METRICS_TOKEN)").stdout.strip()
        == "''"
    )
    result = _settings_in_subprocess({"DEBUG": "1", "METRICS_TOKEN": "scrape"}, "settings.METRICS_TOKEN")
    assert result.stdout.strip() == "scrape"


def test_an_empty_variable_counts_as_unset_so_the_contracts_default_applies():
    empty = dict.fromkeys(("PUBLIC_URL", "EDUFRAME_BASE_URL", "EXACT_CLIENT_ID", "EXACT_CLIENT_SECRET"), "")
    result = _settings_in_subprocess(
        {"DEBUG": "1", **empty, "DEFAULT_FROM_EMAIL": ""},
        "settings.PUBLIC_URL, settings.EDUFRAME_BASE_URL, settings.EXACT_CLIENT_ID, settings.EXACT_CLIENT_SECRET, "
        "settings.DEFAULT_FROM_EMAIL, settings.CSRF_TRUSTED_ORIGINS",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "http://localhost:8000 https://api.eduframe.nl eduexact-sandbox sandbox-secret "
        "EduExact <eduexact@localhost> ['http://localhost:8000']"
    )
