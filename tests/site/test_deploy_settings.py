"""Production settings: `manage.py check --deploy` clean for an https PUBLIC_URL, plain http left working,
the proxy header trusted only when configured, the admin's path from DJANGO_ADMIN_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "".join(chr(65 + i % 26) + chr(97 + i % 23) for i in range(30)),
    "TOKEN_ENCRYPTION_KEY": "a production passphrase",
    "DATABASE_URL": "",
    "CELERY_BROKER_URL": "",
}
_OWN = {"SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "DEBUG", "PUBLIC_URL", "DJANGO_ADMIN_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
_OWN |= {"SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests of this same run; a deployment never has it.
    clean = {k: v for k, v in os.environ.items() if k not in _OWN}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "eduexact_site.settings", "EDUEXACT_VAR_DIR": "var/test", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _setting(env: dict[str, str], expression: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_check_deploy_is_clean_with_debug_off_and_an_https_public_url():
    env = {**PRODUCTION, "PUBLIC_URL": "https://eduexact.example.com"}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_is_missing_over_plain_http():
    """The same check fails for an http PUBLIC_URL: it really looks at the settings."""
    env = {**PRODUCTION, "PUBLIC_URL": "http://127.0.0.1:8000"}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT


def test_https_settings_follow_public_url():
    https = _setting(
        {**PRODUCTION, "PUBLIC_URL": "https://eduexact.example.com"},
        "settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS > 0",
    )
    assert https == "True True True True"
    plain = _setting(
        {**PRODUCTION, "PUBLIC_URL": "http://127.0.0.1:8000"},
        "settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS",
    )
    assert plain == "False False False 0"


def test_an_explicit_variable_wins_over_public_url():
    value = _setting(
        {**PRODUCTION, "PUBLIC_URL": "https://eduexact.example.com", "SECURE_SSL_REDIRECT": "0"},
        "settings.SECURE_SSL_REDIRECT",
    )
    assert value == "False"


def test_the_proxy_header_is_trusted_only_when_configured():
    base = {**PRODUCTION, "PUBLIC_URL": "https://eduexact.example.com"}
    assert _setting(base, "getattr(settings, 'SECURE_PROXY_SSL_HEADER', None)") == "None"
    configured = _setting({**base, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, "settings.SECURE_PROXY_SSL_HEADER")
    assert configured == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_the_admin_path_comes_from_django_admin_url():
    env = {**PRODUCTION, "PUBLIC_URL": "http://127.0.0.1:8000", "DJANGO_ADMIN_URL": "/ops-7f3a/"}
    assert _setting(env, "__import__('django.urls').urls.reverse('admin:index')") == "/ops-7f3a/"
    default = {**PRODUCTION, "PUBLIC_URL": "http://127.0.0.1:8000"}
    assert _setting(default, "__import__('django.urls').urls.reverse('admin:index')") == "/admin/"
