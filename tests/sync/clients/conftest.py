"""Fakes at the transport for the client tests: a tiny router behind httpx.MockTransport."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from sync.connections.exact import exact_client
from tests.factories import ExactConnectionFactory, InstallationFactory


class Router:
    """Answer requests by (method, path); record every request."""

    def __init__(self):
        self.routes: list[tuple[str, str, object]] = []
        self.requests: list[httpx.Request] = []

    def add(self, method: str, path: str, answer) -> None:
        """Answer `method path` with an httpx.Response, a callable(request), or a list used in turn."""
        self.routes.append((method, path, answer))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, path, answer in self.routes:
            if request.method == method and request.url.path == path:
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                return answer(request) if callable(answer) else answer
        return httpx.Response(404, json={"error": {"code": "", "message": {"lang": "", "value": "no route"}}})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def odata(*rows, next_url=None) -> httpx.Response:
    """An Exact collection answer."""
    d = {"results": list(rows)}
    if next_url:
        d["__next"] = next_url
    return httpx.Response(200, json={"d": d})


def exact_error(status: int, message: str, headers=None) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": "", "message": {"lang": "", "value": message}}}, headers=headers
    )


def token_answer(access="new-access", refresh="new-refresh") -> httpx.Response:
    body = {"access_token": access, "token_type": "bearer", "expires_in": "600", "refresh_token": refresh}
    return httpx.Response(200, json=body)


def form(request: httpx.Request) -> dict:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(request.content.decode()))


def body(request: httpx.Request) -> dict:
    return json.loads(request.content)


@pytest.fixture
def router():
    return Router()


@pytest.fixture
def exact_settings(settings):
    settings.EXACT_BASE_URL = None
    settings.EXACT_CLIENT_ID = "client-1"
    settings.EXACT_CLIENT_SECRET = "secret-1"
    return settings


@pytest.fixture
def connection(db, exact_settings):
    """A connected Exact connection whose access token has 10 minutes left."""
    return ExactConnectionFactory(
        installation=InstallationFactory(),
        access_token="stored-access",
        refresh_token="stored-refresh",
        access_expires_at=timezone.now() + timedelta(seconds=600),
        tokens_issued_at=timezone.now(),
    )


def age_tokens(connection, seconds: int) -> None:
    """Pretend the connection's tokens were issued `seconds` ago."""
    issued = timezone.now() - timedelta(seconds=seconds)
    connection.tokens_issued_at = issued
    connection.access_expires_at = issued + timedelta(seconds=600)
    connection.save()


EDUFRAME_BASE = "https://api.eduframe.test"
EDUFRAME_INVOICE = {
    "id": 48213, "reference_id": "7310004821300017", "number": "2025-00157", "order_id": 9921, "status": "open",
    "expiration_date": "2025-07-15", "opened_at": "2025-06-15", "description": "Invoice 2025-00157",
    "account_name": "Voorbeeld B.V.", "currency": "EUR", "total_excl": "1305.00", "total_incl": "1579.05",
    "account_id": 3307, "feature": "PO-4500123", "updated_at": "2025-06-15T09:12:44.120+02:00",
    "invoice_items": [
        {"id": 77001, "name": "PM Basis", "units": 2, "unit_price": "595.00", "invoice_vat_id": 3,
         "catalog_variant_id": 5120},
    ],
}  # fmt: skip


def eduframe_error(status, message="Forbidden", **headers) -> httpx.Response:
    """An answer in Eduframe's error shape."""
    return httpx.Response(status, json={"code": status, "message": message, "errors": {}}, headers=headers)


@pytest.fixture
def installation(db, settings):
    """An installation with an Eduframe API token, talking to a fake Eduframe host."""
    settings.EDUFRAME_BASE_URL = EDUFRAME_BASE
    settings.EDUFRAME_CLIENT_ID, settings.EDUFRAME_CLIENT_SECRET = "ef-client", "ef-secret"
    return InstallationFactory(eduframe_access_token="api-token")


DIV = 1234567


@pytest.fixture
def exact_over_http(exact_sandbox, db, settings):
    """A seeded division, and an ExactConnection holding tokens the simulator issued just now."""
    settings.EXACT_CLIENT_ID, settings.EXACT_CLIENT_SECRET = "eduexact-sandbox", "sandbox-secret"
    state = exact_sandbox.state
    state.seed_division(DIV, "Demo Academy BV")
    tokens = state.issue_tokens_for(state.default_user().user_id)
    now = timezone.now()
    connection = ExactConnectionFactory(
        installation=InstallationFactory(),
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        tokens_issued_at=now,
        access_expires_at=now + timedelta(seconds=600),
    )
    client = exact_client(connection)
    yield state, connection, client
    client.close()
