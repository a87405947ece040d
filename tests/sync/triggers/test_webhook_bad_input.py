"""The webhook receiver against a corpus of broken and hostile bodies: never a 500, always stored and bounded.

Run it on PostgreSQL too (DATABASE_URL): NUL bytes, lone surrogates, ids beyond a BIGINT and over-long event
names are what PostgreSQL refuses where SQLite would store anything.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import WebhookEvent
from sync.services.history_prune import history_prune
from sync.services.webhook_events import webhook_event_record, webhook_events_queue_deferred

GOOD = {"tenant_id": "tenant-1", "educator": "demo-academy", "event": "invoice.updated", "entity_type": "Invoice"}


def _post(client, installation, body: str | bytes):
    url = reverse("eduframe-webhook", args=[installation.pk, installation.webhook_secret])
    return client.post(url, data=body, content_type="application/json")


def _with(**changes) -> str:
    return json.dumps({**GOOD, "entity_id": 42, **changes})


MALFORMED = {
    "empty body": "",
    "invalid JSON": "{not json",
    "truncated JSON": _with()[:-5],
    "invalid UTF-8": b'{"event": "invoice.updated", "entity_id": 4\xff\xfe2}',
    "a raw NUL byte": '{"event": "invoice.updated",\x00 "entity_id": 42}',
    "deeply nested arrays": "[" * 30_000 + "]" * 30_000,
    "deeply nested objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "a top-level array": json.dumps([GOOD]),
    "a top-level string": json.dumps("invoice.updated"),
    "null": "null",
    "no event": json.dumps({"entity_id": 42}),
    "an event that is a number": _with(event=123),
    "an event that is a list": _with(event=["invoice.updated"]),
    "an empty event": _with(event=""),
    "an event name of 10,000 characters": _with(event="invoice." + "x" * 10_000),
    "an id of 2**63": _with(entity_id=2**63),
    "an id of 2**64 as a string": _with(entity_id=str(2**64)),
    "a negative id": _with(entity_id=-1),
    "a zero id": _with(entity_id=0),
    "a fractional id": _with(entity_id=1.5),
    "an id that is a word": _with(entity_id="forty-two"),
    "an id that is true": _with(entity_id=True),
    "an id that is an object": _with(entity_id={"id": 42}),
    "an id of 5,000 digits": '{"event": "invoice.updated", "entity_id": ' + "9" * 5_000 + "}",
    "an id of 1e400": '{"event": "invoice.updated", "entity_id": 1e400}',
    "an educator that is an object": _with(educator={"slug": "demo-academy"}),
    "a tenant that is a list": _with(tenant_id=["tenant-1"]),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_is_a_400_with_a_reason_and_is_stored(client, installation, webhook_delay, body):
    response = _post(client, installation, body)
    assert response.status_code == 400, response.content
    event = WebhookEvent.objects.get()
    assert response.json() == {"error": event.error, "event_id": event.pk}
    assert event.error
    assert event.processed_at is None
    assert len(event.raw_body) <= 4096 + 100
    webhook_delay.assert_not_called()


STRANGE_BUT_READABLE = {
    "an id as a numeric string": (_with(entity_id="42"), 42),
    "an id of 2**63-1": (_with(entity_id=2**63 - 1), 2**63 - 1),
    "an escaped NUL in the event name": (_with(event="invoice.updated\u0000"), None),
    "a lone surrogate in the entity type": (_with(entity_type="Invoice\ud800"), 42),
    "an entity type of 10,000 characters": (_with(entity_type="I" * 10_000), 42),
    "non-ASCII everywhere": (_with(entity_type="Factuur — ünïcode ✓"), 42),
}


@pytest.mark.parametrize(("body", "entity_id"), STRANGE_BUT_READABLE.values(), ids=STRANGE_BUT_READABLE.keys())
def test_a_strange_but_readable_body_is_accepted_and_stored_cleanly(
    client, installation, webhook_delay, body, entity_id
):
    response = _post(client, installation, body)
    assert response.status_code == 202, response.content
    event = WebhookEvent.objects.get()
    assert "\x00" not in event.raw_body
    assert len(event.entity_type) <= 64
    if entity_id is not None:
        assert event.entity_id == entity_id


def test_a_body_over_the_limit_is_a_413_and_its_head_is_stored(client, installation, webhook_delay, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 10_000
    body = _with(event_data={"padding": "x" * 20_000})
    response = _post(client, installation, body)
    assert response.status_code == 413
    assert "larger than 10000 bytes" in response.json()["error"]
    event = WebhookEvent.objects.get()
    assert event.raw_body.startswith(body[:100])
    assert len(event.raw_body) <= 4096 + 100
    webhook_delay.assert_not_called()


def test_a_body_just_under_the_limit_is_accepted(client, installation, webhook_delay, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 10_000
    body = _with(event_data={"padding": "x" * 9_000})
    assert _post(client, installation, body).status_code == 202
    event = WebhookEvent.objects.get()
    assert event.entity_id == 42
    assert "[cut: " in event.raw_body  # stored cut short, processed in full


def test_over_its_rate_an_installations_webhooks_are_stored_and_deferred_never_refused(
    client, installation, webhook_delay, settings, django_capture_on_commit_callbacks
):
    """Eduframe gives up on a delivery after a few retries: a genuine burst is stored, and processed later."""
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE, settings.WEBHOOK_HARD_LIMIT_PER_MINUTE = 3, 100
    with django_capture_on_commit_callbacks(execute=True):
        answers = [_post(client, installation, _with(entity_id=n + 1)) for n in range(5)]
    assert [a.status_code for a in answers] == [202] * 5
    assert [a.json()["status"] for a in answers] == ["accepted"] * 3 + ["deferred"] * 2
    assert webhook_delay.call_count == 3
    deferred = WebhookEvent.objects.filter(queued_at__isnull=True)
    assert sorted(deferred.values_list("entity_id", flat=True)) == [4, 5]


def test_the_sweep_sends_deferred_events_at_the_installations_rate(
    installation, webhook_delay, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 2
    for n in range(3):
        webhook_event_record(installation=installation, raw_body=_with(entity_id=n + 1), defer=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_queue_deferred() == 2  # the oldest two, this minute
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_queue_deferred() == 1  # the last one, the next minute
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_queue_deferred() == 0  # all sent: nothing twice
    sent = [call.args[0] for call in webhook_delay.call_args_list]
    assert sent == list(WebhookEvent.objects.order_by("received_at", "id").values_list("pk", flat=True))


def test_the_sweep_sends_an_event_whose_task_was_lost_again(
    installation, webhook_delay, django_capture_on_commit_callbacks
):
    event = webhook_event_record(installation=installation, raw_body=_with())
    assert webhook_events_queue_deferred() == 0  # just queued: its task is on its way
    WebhookEvent.objects.update(queued_at=timezone.now() - timezone.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_queue_deferred() == 1
    webhook_delay.assert_called_once_with(event.pk)


def test_over_the_hard_limit_it_is_a_429_with_retry_after_and_nothing_is_stored(
    client, installation, webhook_delay, settings
):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE, settings.WEBHOOK_HARD_LIMIT_PER_MINUTE = 2, 5
    answers = [_post(client, installation, _with(entity_id=n + 1)).status_code for n in range(7)]
    assert answers == [202] * 5 + [429] * 2
    refused = _post(client, installation, _with(entity_id=99))
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert WebhookEvent.objects.count() == 5


def test_the_rate_window_moves_on_so_a_redelivery_gets_through(client, installation, webhook_delay, settings):
    """What Eduframe delivers again after Retry-After is accepted."""
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE, settings.WEBHOOK_HARD_LIMIT_PER_MINUTE = 2, 2
    for n in range(2):
        _post(client, installation, _with(entity_id=n + 1))
    assert _post(client, installation, _with(entity_id=3)).status_code == 429
    WebhookEvent.objects.update(received_at=timezone.now() - timezone.timedelta(seconds=61))
    assert _post(client, installation, _with(entity_id=3)).status_code == 202
    assert WebhookEvent.objects.filter(entity_id=3).count() == 1


def test_one_installations_flood_does_not_limit_another(client, installation, other_ready, webhook_delay, settings):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE, settings.WEBHOOK_HARD_LIMIT_PER_MINUTE = 1, 1
    assert _post(client, installation, _with()).status_code == 202
    assert _post(client, installation, _with()).status_code == 429
    response = _post(client, other_ready, _with(educator=other_ready.educator_slug))
    assert response.json()["status"] == "accepted"


@pytest.fixture
def other_ready(db):
    from tests.factories import InstallationFactory

    return InstallationFactory(educator_slug="other-academy")


def test_refused_webhooks_are_pruned_like_processed_ones(client, installation, webhook_delay, settings):
    _post(client, installation, "{not json")
    _post(client, installation, _with(educator="other-school"))
    _post(client, installation, _with())  # accepted, not yet processed: kept whatever its age
    old = timezone.now() - timezone.timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS + 1)
    WebhookEvent.objects.update(received_at=old)
    assert history_prune()["webhook_events"] == 2
    assert list(WebhookEvent.objects.values_list("error", flat=True)) == [""]
