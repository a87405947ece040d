"""Webhook CRUD over the API and delivery to a real local receiver."""

from __future__ import annotations

import uuid

import pytest

from .helpers import course_line

INVOICE_EVENTS = ["invoice.created", "invoice.updated", "invoice.deleted"]


@pytest.fixture
def subscribed(state, receiver):
    return state.add_webhook(receiver.url, INVOICE_EVENTS)


def new_invoice(state, world):
    return state.add_invoice(world.account["id"], [course_line(world)])


def test_creating_a_webhook_returns_201_with_a_uuid(api, receiver):
    response = api.post("/webhooks", json={"url": receiver.url, "events": INVOICE_EVENTS})
    assert response.status_code == 201
    assert uuid.UUID(response.json()["id"])
    assert response.json()["active"] is True


def test_a_webhook_without_url_is_a_422(api):
    response = api.post("/webhooks", json={"events": INVOICE_EVENTS})
    assert response.status_code == 422
    assert response.json()["errors"] == {"url": ["can't be blank"]}


def test_a_webhook_with_an_unknown_event_is_a_422(api, receiver):
    response = api.post("/webhooks", json={"url": receiver.url, "events": ["invoice.paid"]})
    assert response.json()["errors"] == {"events": ["invoice.paid is not a valid event"]}


def test_a_webhook_can_be_read_patched_and_deleted(api, subscribed):
    path = f"/webhooks/{subscribed['id']}"
    assert api.get(path).json()["url"] == subscribed["url"]
    assert api.patch(path, json={"active": False}).json()["active"] is False
    assert api.delete(path).status_code == 200
    assert api.get(path).status_code == 404


def test_webhooks_are_listed(api, subscribed):
    assert [hook["id"] for hook in api.get("/webhooks").json()] == [subscribed["id"]]


def test_creating_an_invoice_posts_the_five_key_payload(state, world, receiver, subscribed):
    invoice = new_invoice(state, world)
    assert state.wait_for_deliveries(5)
    assert receiver.bodies() == [
        {
            "tenant_id": state.educator["tenant_id"],
            "educator": "demo-academy",
            "event": "invoice.created",
            "entity_type": "Invoice",
            "entity_id": invoice["id"],
        }
    ]
    assert receiver.received[0]["content_type"] == "application/json"


def test_status_changes_arrive_as_invoice_updated(state, world, receiver, subscribed):
    invoice = new_invoice(state, world)
    state.open_invoice(invoice["id"])
    state.pay_invoice(invoice["id"])
    state.wait_for_deliveries(5)
    assert [body["event"] for body in receiver.bodies()] == ["invoice.created", "invoice.updated", "invoice.updated"]


def test_deleting_an_invoice_sends_invoice_deleted(state, world, receiver, subscribed):
    invoice = new_invoice(state, world)
    state.delete_invoice(invoice["id"])
    state.wait_for_deliveries(5)
    assert receiver.bodies()[-1]["event"] == "invoice.deleted"


def test_only_subscribed_events_are_delivered(state, world, receiver):
    state.add_webhook(receiver.url, ["invoice.deleted"])
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert receiver.received == []


def test_an_inactive_webhook_gets_nothing(state, world, receiver):
    state.add_webhook(receiver.url, INVOICE_EVENTS, active=False)
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert receiver.received == []


def test_an_account_update_sends_account_updated(state, world, receiver):
    state.add_webhook(receiver.url, ["account.updated"])
    state.set_account_custom(world.account["id"], "btw-nummer", "NL999999999B01")
    state.wait_for_deliveries(5)
    assert receiver.bodies()[0]["entity_type"] == "Account"


def test_a_failed_delivery_is_retried_until_it_succeeds(state, world, receiver, subscribed):
    receiver.statuses = [500, 503]
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    (notification,) = state.notifications.values()
    assert notification["status"] == "succeeded"
    assert [a["status_code"] for a in notification["send_attempts"]] == [500, 503, 200]


def test_a_delivery_fails_after_the_maximum_attempts(state, world, receiver, subscribed):
    state.webhook_max_attempts = 3
    receiver.statuses = [500] * 5
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    (notification,) = state.notifications.values()
    assert (notification["status"], len(notification["send_attempts"])) == ("failed", 3)


def test_an_unreachable_receiver_is_recorded_as_a_failed_attempt(state, world):
    state.webhook_max_attempts = 2
    state.add_webhook("http://127.0.0.1:9/closed", INVOICE_EVENTS)
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    (notification,) = state.notifications.values()
    assert notification["send_attempts"][0]["status_code"] is None


def test_notifications_are_listed_with_status_and_attempts(api, state, world, receiver, subscribed):
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    (row,) = api.get(f"/webhooks/{subscribed['id']}/notifications").json()
    assert (row["status"], row["send_attempts"][0]["status_code"]) == ("succeeded", 200)


def test_failed_notifications_have_their_own_list(api, state, world, receiver, subscribed):
    state.webhook_max_attempts = 1
    receiver.statuses = [500]
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert len(api.get(f"/webhooks/{subscribed['id']}/notifications/failed").json()) == 1


def test_the_wrap_option_nests_the_payload_under_notification(state, world, receiver, subscribed):
    state.webhook_options["wrap"] = True
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert receiver.bodies()[0]["notification"]["event"] == "invoice.created"


def test_the_event_data_option_adds_event_data(state, world, receiver, subscribed):
    state.webhook_options["event_data"] = True
    invoice = new_invoice(state, world)
    state.open_invoice(invoice["id"])
    state.wait_for_deliveries(5)
    assert receiver.bodies()[1]["event_data"] == {"id": invoice["id"], "status": "open"}


def test_the_duplicate_option_delivers_each_event_twice(state, world, receiver, subscribed):
    state.webhook_options["duplicate"] = True
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert len(receiver.received) == 2
    assert receiver.bodies()[0] == receiver.bodies()[1]


def test_the_drop_option_never_delivers_and_logs_a_failure(state, world, receiver, subscribed):
    state.webhook_options["drop"] = True
    new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert receiver.received == []
    assert [n["status"] for n in state.notifications.values()] == ["failed"]


def test_seeding_with_webhooks_suppressed_sends_nothing(state, world, receiver, subscribed):
    with state.webhooks_suppressed():
        new_invoice(state, world)
    state.wait_for_deliveries(5)
    assert receiver.received == []


def test_every_change_of_an_invoice_is_delivered_as_created_updated_or_deleted(state, world, receiver, subscribed):
    invoice = new_invoice(state, world)
    state.edit_invoice(invoice["id"], feature="PO-7")
    state.open_invoice(invoice["id"])
    state.expire_invoice(invoice["id"])
    state.pay_invoice(invoice["id"])
    state.delete_invoice(invoice["id"])
    state.wait_for_deliveries(5)
    assert [body["event"] for body in receiver.bodies()] == ["invoice.created"] + ["invoice.updated"] * 4 + [
        "invoice.deleted"
    ]
    assert {body["entity_id"] for body in receiver.bodies()} == {invoice["id"]}
