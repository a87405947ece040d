"""Webhooks delivered for real by the Eduframe simulator to the receiver on a live server."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sync.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscribed(eduframe_sandbox, live_server, installation):
    """The simulator subscribed to our receiver, with a customer and a VAT rate to invoice."""
    state = eduframe_sandbox.state
    url = live_server.url + reverse("eduframe-webhook", args=[installation.pk, installation.webhook_secret])
    state.webhook = state.add_webhook(url, ["invoice.created", "invoice.updated", "invoice.deleted"])
    state.educator["tenant_id"] = installation.eduframe_tenant_id
    state.account = state.add_account("Delta Consultancy")
    state.item = {
        "name": "Course",
        "units": 1,
        "unit_price": "100.00",
        "invoice_vat_id": state.add_vat("21%", "21")["id"],
    }
    return state


def test_wrapped_duplicated_deliveries_with_event_data_are_all_stored_and_acknowledged(subscribed, webhook_delay):
    subscribed.webhook_options.update(wrap=True, duplicate=True, event_data=True)
    invoice = subscribed.add_invoice(subscribed.account["id"], [subscribed.item], status="open")
    assert subscribed.wait_for_deliveries(timeout=10)
    notifications = subscribed.webhook_notifications(subscribed.webhook["id"])
    assert {n["status"] for n in notifications} == {"succeeded"}
    events = WebhookEvent.objects.filter(entity_id=invoice["id"])
    # created and updated (opened), each delivered twice
    assert sorted(events.values_list("event", flat=True)) == ["invoice.created"] * 2 + ["invoice.updated"] * 2
    assert not events.exclude(error="").exists()
    assert webhook_delay.call_count == 4


def test_a_delivery_to_a_wrong_secret_fails_in_eduframes_log_and_stores_nothing(
    eduframe_sandbox, live_server, installation
):
    state = eduframe_sandbox.state
    state.webhook_max_attempts = 1
    url = live_server.url + reverse("eduframe-webhook", args=[installation.pk, "not-the-secret"])
    webhook = state.add_webhook(url, ["invoice.created"])
    state.add_invoice(state.add_account("Delta")["id"], [{"name": "Course", "units": 1, "unit_price": "1.00"}])
    assert state.wait_for_deliveries(timeout=10)
    assert [n["status"] for n in state.webhook_notifications(webhook["id"])] == ["failed"]
    assert not WebhookEvent.objects.exists()
