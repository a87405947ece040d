"""POST /webhooks/eduframe/<installation id>/<secret>: store first, answer fast, process after commit."""

from __future__ import annotations

import json
import time
from unittest.mock import patch

import pytest
from django.urls import reverse

from sync.models import InvoiceRecord, WebhookEvent

BODY = {"tenant_id": "tenant-1", "educator": "demo-academy", "event": "invoice.updated"}
BODY |= {"entity_type": "Invoice", "entity_id": 42}


def _url(installation, secret=None) -> str:
    return reverse("eduframe-webhook", args=[installation.pk, secret or installation.webhook_secret])


def _post(client, url, body=BODY):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def test_a_wrong_secret_is_a_404_and_nothing_is_stored(client, installation, webhook_delay):
    response = _post(client, _url(installation, secret="guessed"))
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()
    webhook_delay.assert_not_called()


def test_an_unknown_installation_is_a_404_and_nothing_is_stored(client, installation):
    url = reverse("eduframe-webhook", args=[installation.pk + 1, installation.webhook_secret])
    assert _post(client, url).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_only_post_is_accepted(client, installation):
    assert client.get(_url(installation)).status_code == 405


def test_the_raw_body_is_stored_before_anything_is_processed(
    client, installation, webhook_delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(client, _url(installation))
    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert json.loads(event.raw_body) == BODY
    assert (event.event, event.entity_id, event.processed_at) == ("invoice.updated", 42, None)
    assert not InvoiceRecord.objects.exists()
    assert len(callbacks) == 1
    webhook_delay.assert_not_called()


def test_processing_is_enqueued_on_commit(client, installation, webhook_delay, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, _url(installation))
    webhook_delay.assert_called_once_with(response.json()["event_id"])


def test_it_answers_fast_without_calling_any_api(client, installation, webhook_delay):
    def no_http(*args, **kwargs):
        raise AssertionError("the receiver must not call any API")

    # Every request of ours, through an httpx.Client or not, goes out through an HTTPTransport.
    with patch("httpx.HTTPTransport.handle_request", side_effect=no_http) as send:
        started = time.monotonic()
        response = _post(client, _url(installation))
        elapsed = time.monotonic() - started
    assert response.status_code == 202
    send.assert_not_called()
    assert elapsed < 0.5


def test_the_notification_wrapper_with_event_data_is_accepted(client, installation, webhook_delay):
    body = {"notification": BODY | {"event_data": {"id": 42}}}
    assert _post(client, _url(installation), body).status_code == 202
    assert WebhookEvent.objects.get().entity_id == 42


def test_unparseable_json_is_a_400_with_a_clear_message_and_is_still_stored(client, installation, webhook_delay):
    response = _post(client, _url(installation), "{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    event = WebhookEvent.objects.get()
    assert (event.raw_body, event.processed_at) == ("{not json", None)
    assert "not valid JSON" in event.error
    webhook_delay.assert_not_called()


@pytest.mark.parametrize(("key", "value"), [("educator", "other-school"), ("tenant_id", "tenant-2")])
def test_another_tenants_webhook_is_stored_with_the_error_and_not_processed(
    client, installation, webhook_delay, django_capture_on_commit_callbacks, key, value
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, _url(installation), BODY | {key: value})
    assert response.json()["status"] == "ignored"
    assert value in WebhookEvent.objects.get().error
    webhook_delay.assert_not_called()


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (lambda client, url: client.post(url, data="{not json", content_type="application/json"), 400),
        (lambda client, url: client.get(url), 405),
    ],
)
def test_a_refused_delivery_is_logged_without_the_webhook_secret(client, installation, caplog, send, status):
    with caplog.at_level("WARNING", logger="django.request"):
        response = send(client, _url(installation))
    assert response.status_code == status
    assert f"/webhooks/eduframe/{installation.pk}/" in caplog.text
    assert installation.webhook_secret not in caplog.text
