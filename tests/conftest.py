"""Shared fixtures: the two simulators over real HTTP, wired into the settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.server import SandboxServer

CHROMIUM = Path("/usr/bin/chromium")
# --no-sandbox: tests run as root; the networking flags: Chromium must not try hosts it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A test database of this process's own when EDUEXACT_TEST_DB_SUFFIX says so (scripts/test runs two)."""
    suffix = os.environ.get("EDUEXACT_TEST_DB_SUFFIX")
    if suffix:
        # pytest-django's own helper, as it uses for xdist and tox: test_<name>_<suffix>, or the SQLite file's.
        from pytest_django.fixtures import _set_suffix_to_test_databases

        _set_suffix_to_test_databases(suffix)


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the whole run: Playwright's sync API allows one instance per thread."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from tests stay sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: simulators and installations differ from test to test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _serve(create_app):
    app = create_app()
    server = SandboxServer(app).start()
    server.state = app.state
    return server


@pytest.fixture
def exact_sandbox(settings):
    """The Exact Online simulator on an ephemeral port; every Exact call of the service goes there."""
    from sandbox.exact.app import create_app

    server = _serve(create_app)
    settings.EXACT_BASE_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def eduframe_sandbox(settings):
    """The Eduframe simulator on an ephemeral port; the service's Eduframe calls go there."""
    from sandbox.eduframe.app import create_app

    server = _serve(create_app)
    settings.EDUFRAME_BASE_URL = server.url
    yield server
    server.stop()
