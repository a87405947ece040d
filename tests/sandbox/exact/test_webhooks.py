"""`webhooks/WebhookSubscriptions` and signed deliveries with retries [notes 5.7, section 9 item 50]."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.sandbox.tls import self_signed_server_context

from .helpers import create_customer, error_text

SUBSCRIPTIONS = "webhooks/WebhookSubscriptions"


@pytest.fixture
def receiver(tmp_path, monkeypatch, state):
    """An HTTPS endpoint (a test CA the sandbox trusts through SSL_CERT_FILE) that answers 500 to the first
    `fail_first` deliveries, then 200; it keeps every body it got."""
    context, cert = self_signed_server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    state.webhook_retry_seconds = 0.05
    got: list[bytes] = []
    settings = {"fail_first": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(500 if len(got) <= settings["fail_first"] else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_port}/exact/webhook", got, settings
    server.shutdown()
    server.server_close()


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_subscription_needs_an_https_callback_and_a_known_topic(api):
    response = api.post(SUBSCRIPTIONS, json={"CallbackURL": "http://app.example/hook", "Topic": "Nothing"})
    assert response.status_code == 500
    assert error_text(response).split("\r\n") == ["Ongeldig: CallbackURL", "Ongeldige referentie: Topic"]
    created = api.post(SUBSCRIPTIONS, json={"CallbackURL": "https://app.example/hook", "Topic": "Accounts"})
    assert created.status_code == 201
    assert created.json()["d"]["ClientID"] == "eduexact-sandbox"


def test_a_second_subscription_for_the_same_topic_is_refused_unless_switched_to_allow(api, http):
    body = {"CallbackURL": "https://app.example/hook", "Topic": "SalesEntries"}
    assert api.post(SUBSCRIPTIONS, json=body).status_code == 201
    again = api.post(SUBSCRIPTIONS, json=body)
    assert (again.status_code, error_text(again)) == (500, "Data already exists")
    http.post("/_sandbox/config", json={"duplicate_webhook_topic": "allow"})
    assert api.post(SUBSCRIPTIONS, json=body).status_code == 201


def test_a_subscription_cannot_be_updated_only_deleted(api):
    created = api.post(SUBSCRIPTIONS, json={"CallbackURL": "https://app.example/hook", "Topic": "Accounts"}).json()
    key = f"{SUBSCRIPTIONS}(guid'{created['d']['ID']}')"
    assert api.put(key, json={"Topic": "Documents"}).status_code == 405
    assert api.delete(key).status_code == 204
    assert api.get(SUBSCRIPTIONS).json()["d"]["results"] == []


def test_a_change_is_delivered_with_an_upper_hex_hmac_of_the_content_and_retried_until_2xx(api, state, receiver):
    url, got, settings = receiver
    settings["fail_first"] = 2
    assert api.post(SUBSCRIPTIONS, json={"CallbackURL": url, "Topic": "Accounts"}).status_code == 201
    account = create_customer(api)
    _wait_for(lambda: len(got) == 3)
    assert got[0] == got[2]  # the same notification, retried after two 500s
    text = got[2].decode()
    content_text = text[len('{"Content":') : text.index(',"HashCode":')]
    body = json.loads(text)
    expected = hmac.new(b"sandbox-secret", content_text.encode(), hashlib.sha256).hexdigest().upper()
    assert body["HashCode"] == expected
    assert body["Content"]["Action"] == "Create"
    assert body["Content"]["Key"] == account["ID"]
    assert body["Content"]["ExactOnlineEndpoint"].endswith(f"/crm/Accounts(guid'{account['ID']}')")
    _wait_for(lambda: state.webhook_deliveries[0]["status"] == 200)
    assert state.webhook_deliveries[0]["attempts"] == 3
