"""The simulators keep HTTP/1.1 connections alive between requests, as Exact Online and Eduframe do."""

from __future__ import annotations

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from sandbox.eduframe.app import create_app as create_eduframe
from sandbox.server import SandboxServer


@Request.application
def _body_ignored_or_streamed(request: Request) -> Response:
    """Answers without reading the request body, or as a stream with no Content-Length of its own."""
    if request.path == "/stream":
        return Response(iter([b"first ", b"second"]))
    return Response(f"{request.method} {request.path}")


@pytest.fixture
def server():
    served = SandboxServer(_body_ignored_or_streamed).start()
    yield served
    served.stop()


def test_a_clients_requests_to_a_simulator_go_over_one_connection():
    eduframe = SandboxServer(create_eduframe()).start()
    try:
        with httpx.Client(base_url=eduframe.url) as client:
            statuses = [client.get("/api/v1/invoices").status_code for _ in range(5)]  # no token: 401, with a body
            statuses.append(client.post("/api/v1/invoices", json={"a": 1}).status_code)
        assert statuses == [401] * 6
        assert eduframe.connections_accepted == 1
    finally:
        eduframe.stop()


def test_a_request_body_left_unread_does_not_spill_into_the_next_request(server):
    with httpx.Client(base_url=server.url) as client:
        first = client.post("/first", content=b"x" * 200_000)
        second = client.get("/second")
    assert (first.text, second.text) == ("POST /first", "GET /second")
    assert server.connections_accepted == 1


def test_a_streamed_answer_is_sent_with_its_length_and_the_connection_kept(server):
    with httpx.Client(base_url=server.url) as client:
        answers = [client.get("/stream") for _ in range(3)]
    assert [(a.text, a.headers.get("content-length"), a.headers.get("connection")) for a in answers] == [
        ("first second", "12", None)
    ] * 3
    assert server.connections_accepted == 1


def test_a_client_that_asks_to_close_gets_a_new_connection_next_time(server):
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/a", headers={"Connection": "close"}).headers["connection"] == "close"
        assert client.get("/b").text == "GET /b"
    assert server.connections_accepted == 2


def test_stop_closes_the_kept_connections():
    served = SandboxServer(_body_ignored_or_streamed).start()
    with httpx.Client(base_url=served.url) as client:
        assert client.get("/a").status_code == 200
        assert len(served.open_connections) == 1
        served.stop()
        with pytest.raises(httpx.TransportError):  # refused, not a request left hanging on a dead server
            client.get("/b")
