"""Shared fixtures: the two simulators over real HTTP, wired into the settings."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer


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
