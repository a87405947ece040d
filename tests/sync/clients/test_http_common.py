"""The API clients' HTTP sender over real HTTP: the environment's proxy is used as an httpx.Client would."""

from __future__ import annotations

import pytest

from sandbox.eduframe.app import create_app
from sandbox.server import SandboxServer
from sync import http_common


@pytest.fixture
def proxy_server():
    """A sandbox standing in for an HTTP proxy: a request it answers went through it."""
    server = SandboxServer(create_app()).start()
    yield server
    server.stop()


def test_an_api_client_goes_through_the_proxy_the_environment_names(proxy_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = http_common.make_http_client("http://eduframe.invalid/api/v1", timeout_seconds=5)
    response = client.request("GET", "/invoices")  # eduframe.invalid has no address: only the proxy answers
    assert response.status_code == 401
    assert str(response.request.url) == "http://eduframe.invalid/api/v1/invoices"
    client.close()


def test_a_host_named_in_no_proxy_is_reached_directly(proxy_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = http_common.make_http_client(proxy_server.url + "/api/v1", timeout_seconds=5)
    assert client.request("GET", "/invoices").status_code == 401
    client.close()
