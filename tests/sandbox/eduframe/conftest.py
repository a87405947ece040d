"""Fixtures: a fresh simulator on a loopback port, an authenticated client, a webhook receiver."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import httpx
import pytest

from sandbox.eduframe.app import create_app
from sandbox.eduframe.clock import Clock
from sandbox.eduframe.state import EduframeState
from sandbox.server import SandboxServer

from .helpers import START, Receiver


@pytest.fixture
def clock():
    return Clock(start=START)


@pytest.fixture
def state(clock):
    state = EduframeState(clock=clock)
    state.rate_limit = None  # the rate limit has its own tests
    state.webhook_backoff = 0.01
    yield state
    state.delivery.stop()


class SwappableApp:
    """One WSGI server for the whole session; each test plugs in its own fresh simulator.

    Starting and stopping a server per test costs half a second each (the shutdown poll interval).
    """

    def __init__(self):
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def http_server():
    swappable = SwappableApp()
    server = SandboxServer(swappable, port=0).start()
    server.swappable = swappable
    yield server
    server.stop()


@pytest.fixture
def server(http_server, state):
    http_server.swappable.app = create_app(state)
    return http_server


@pytest.fixture
def api(server):
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": "Bearer demo-token"}) as client:
        yield client


@pytest.fixture
def anonymous(server):
    with httpx.Client(base_url=server.url) as client:
        yield client


@pytest.fixture
def world(state):
    """A small tenant: three VAT rates, a business account with a VAT number, one course with one edition."""
    high, low = state.add_vat("21% BTW", "21"), state.add_vat("9% BTW", "9")
    zero = state.add_vat("0% BTW", "0", has_vat=False)
    state.add_signup_question("BTW-nummer", slug="btw-nummer", field_type="vat_number", system_name="vat_number")
    account = state.add_account(
        "Voorbeeld Opleidingen B.V.",
        email="invoices@voorbeeld.example",
        address={"address": "Stationsplein 12", "postal_code": "3511 ED", "city": "Utrecht", "country": "NL"},
        custom={"btw-nummer": "NL123456789B01"},
    )
    course = state.add_course("Projectmanagement Basis", "PMB", cost="595.00")
    edition = state.add_planned_course(course["id"], date(2026, 9, 15), date(2026, 9, 29))
    variant = next(v for v in state.tables["catalog_variants"].values() if v["variantable_id"] == edition["id"])
    return SimpleNamespace(
        high=high, low=low, zero=zero, account=account, course=course, edition=edition, variant=variant
    )


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()
