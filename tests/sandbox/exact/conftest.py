"""Fixtures for the Exact simulator's tests: a frozen-clock state served over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sandbox.exact.app import create_app
from sandbox.exact.clock import SandboxClock
from sandbox.exact.state import ExactState
from sandbox.server import SandboxServer

from .helpers import DIVISION, REDIRECT_URI, api_headers

# 10:00:30 UTC on a Friday: mid-minute, so minute windows are predictable.
FROZEN = datetime(2025, 3, 14, 10, 0, 30, tzinfo=UTC)


@pytest.fixture
def state() -> ExactState:
    state = ExactState(SandboxClock(frozen_at=FROZEN))
    state.register_redirect_uri(REDIRECT_URI)  # whatever PUBLIC_URL the outer environment has
    state.seed_division(DIVISION, "Demo Academy B.V.")
    return state


@pytest.fixture
def server(state):
    served = SandboxServer(create_app(state)).start()
    yield served
    served.stop()


@pytest.fixture
def tokens(state) -> dict:
    return state.issue_tokens_for(state.default_user().user_id)


@pytest.fixture
def api(server, tokens):
    """An httpx client on `/api/v1/{division}/` that behaves like a correct Exact client."""
    with httpx.Client(
        base_url=f"{server.url}/api/v1/{DIVISION}/", headers=api_headers(tokens["access_token"]), timeout=5
    ) as client:
        yield client


@pytest.fixture
def http(server):
    """A bare client on the server root (OAuth, control API)."""
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client
