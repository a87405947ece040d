"""REST endpoints for webhook subscriptions and their notification log."""

from __future__ import annotations

from sandbox.eduframe.http import json_body, json_response, paginate
from sandbox.eduframe.serializers import public

READ, WRITE = ("settings:read",), ("settings:modify",)


def creation_order(row: dict) -> list:
    # UUID ids carry no order: page by (created_at, id), which is stable.
    return [row["created_at"], row["id"]]


def rows_of(state, records) -> list[dict]:
    with state.lock:
        return sorted((public(record) for record in records), key=creation_order)


def list_webhooks(state, request):
    rows = rows_of(state, state.webhooks.values())
    return paginate(request, rows, state.per_page_over_max, key=creation_order)


def create_webhook(state, request):
    body = json_body(request)
    webhook = state.add_webhook(body.get("url"), body.get("events"), body.get("active", True))
    return json_response(public(webhook), status=201)


def show_webhook(state, request, webhook_id):
    return json_response(public(state.get_webhook(webhook_id)))


def update_webhook(state, request, webhook_id):
    body = json_body(request)
    webhook = state.update_webhook(webhook_id, body.get("url"), body.get("events"), body.get("active"))
    return json_response(public(webhook))


def delete_webhook(state, request, webhook_id):
    return json_response(public(state.delete_webhook(webhook_id)))


def list_notifications(state, request, webhook_id):
    rows = rows_of(state, state.webhook_notifications(webhook_id))
    return paginate(request, rows, state.per_page_over_max, key=creation_order)


def failed_notifications(state, request, webhook_id):
    """Failed notifications, optionally between `start` and `end` (ISO timestamps compared as text)."""
    start, end = request.args.get("start"), request.args.get("end")
    rows = rows_of(state, state.webhook_notifications(webhook_id, status="failed"))
    rows = [row for row in rows if (not start or row["created_at"] >= start) and (not end or row["created_at"] <= end)]
    return paginate(request, rows, state.per_page_over_max, key=creation_order)


ROUTES = [
    ("GET", "/webhooks", list_webhooks, READ),
    ("POST", "/webhooks", create_webhook, WRITE),
    ("GET", "/webhooks/<webhook_id>", show_webhook, READ),
    ("PATCH", "/webhooks/<webhook_id>", update_webhook, WRITE),
    ("PUT", "/webhooks/<webhook_id>", update_webhook, WRITE),
    ("DELETE", "/webhooks/<webhook_id>", delete_webhook, WRITE),
    ("GET", "/webhooks/<webhook_id>/notifications", list_notifications, READ),
    ("GET", "/webhooks/<webhook_id>/notifications/failed", failed_notifications, READ),
]
