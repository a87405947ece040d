"""Webhook subscriptions and notifications; the actual HTTP delivery runs in `delivery.DeliveryWorker`."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

from sandbox.eduframe.delivery import DeliveryWorker
from sandbox.eduframe.errors import NotFound, ValidationFailed
from sandbox.eduframe.events import EVENTS
from sandbox.eduframe.records import bump, locked

DEFAULT_WEBHOOK_OPTIONS = {"wrap": False, "event_data": False, "duplicate": False, "drop": False}


def validate_webhook(url, events, partial: bool = False) -> None:
    """Refuse what Eduframe refuses: a blank url, an empty or unknown event list."""
    errors = {}
    if not partial or url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors["url"] = ["can't be blank" if not url else "is invalid"]
    if not partial or events is not None:
        if not isinstance(events, list) or not events:
            errors["events"] = ["can't be blank"]
        else:
            unknown = [event for event in events if event not in EVENTS]
            if unknown:
                errors["events"] = [f"{event} is not a valid event" for event in unknown]
    if errors:
        raise ValidationFailed("Validation failed", errors)


class WebhookMixin:
    """CRUD on subscriptions, event emission and the notification log."""

    def _init_webhooks(self) -> None:
        self.webhooks: dict[str, dict] = {}
        self.notifications: dict[str, dict] = {}
        self.webhook_options = dict(DEFAULT_WEBHOOK_OPTIONS)
        self.webhook_timeout = 10.0  # Eduframe gives receivers 10 seconds
        self.webhook_max_attempts = 5
        self.webhook_backoff = 2.0  # seconds before the 1st retry; doubles after each failure
        self._suppressed = 0
        self.delivery = DeliveryWorker(self)

    @locked
    def add_webhook(self, url: str, events: list[str], active: bool = True) -> dict:
        validate_webhook(url, events)
        now = self.clock.now()
        webhook = {"id": str(uuid.uuid4()), "url": url, "active": bool(active), "events": list(events)}
        webhook.update(created_at=now, updated_at=now)
        self.webhooks[webhook["id"]] = webhook
        return webhook

    @locked
    def get_webhook(self, webhook_id: str) -> dict:
        if webhook_id not in self.webhooks:
            raise NotFound("Webhook not found")
        return self.webhooks[webhook_id]

    @locked
    def update_webhook(self, webhook_id: str, url=None, events=None, active=None) -> dict:
        webhook = self.get_webhook(webhook_id)
        validate_webhook(url, events, partial=True)
        if url is not None:
            webhook["url"] = url
        if events is not None:
            webhook["events"] = list(events)
        if active is not None:
            webhook["active"] = bool(active)
        bump(webhook, self.clock.now())
        return webhook

    @locked
    def delete_webhook(self, webhook_id: str) -> dict:
        return self.webhooks.pop(self.get_webhook(webhook_id)["id"])

    @contextmanager
    def webhooks_suppressed(self):
        """Seed without notifying anyone (the demo loads 1000 invoices)."""
        with self.lock:
            self._suppressed += 1
        try:
            yield
        finally:
            with self.lock:
                self._suppressed -= 1

    @locked
    def emit(self, event: str, entity_type: str, entity_id: int, event_data: dict | None = None) -> list[dict]:
        """Record one notification per active subscribed webhook and queue it for delivery."""
        if self._suppressed:
            return []
        payload = self._payload(event, entity_type, entity_id, event_data)
        event_id = str(uuid.uuid4())
        created = []
        for webhook in self.webhooks.values():
            if webhook["active"] and event in webhook["events"]:
                copies = 2 if self.webhook_options.get("duplicate") else 1
                created += [self._notify(webhook, event_id, payload) for _ in range(copies)]
        return created

    def _payload(self, event, entity_type, entity_id, event_data) -> dict:
        payload = {"tenant_id": self.educator["tenant_id"], "educator": self.educator["slug"], "event": event}
        payload.update(entity_type=entity_type, entity_id=entity_id)
        if self.webhook_options.get("event_data"):
            payload["event_data"] = {"id": entity_id, **(event_data or {})}
        if self.webhook_options.get("wrap"):
            payload = {"notification": payload}
        return payload

    def _notify(self, webhook: dict, event_id: str, payload: dict) -> dict:
        now = self.clock.now()
        notification = {"id": str(uuid.uuid4()), "event_id": event_id, "webhook_id": webhook["id"]}
        notification.update(data=payload, status="pending", send_attempts=[], created_at=now, updated_at=now)
        notification.update(_url=webhook["url"], _dropped=False)
        self.notifications[notification["id"]] = notification
        if self.webhook_options.get("drop"):
            # A dropped delivery never reaches the receiver; Eduframe's log shows it as failed.
            notification.update(status="failed", _dropped=True)
        else:
            self.delivery.submit(notification["id"])
        return notification

    @locked
    def record_attempt(self, notification_id: str, status_code: int | None, response: str) -> bool:
        """Log one send attempt; return True when another attempt should follow."""
        notification = self.notifications[notification_id]
        now = self.clock.now()
        notification["send_attempts"].append({"response": response, "status_code": status_code, "created_at": now})
        bump(notification, now)
        if status_code is not None and 200 <= status_code < 300:
            notification["status"] = "succeeded"
            return False
        retry = len(notification["send_attempts"]) < self.webhook_max_attempts
        notification["status"] = "retry" if retry else "failed"
        return retry

    @locked
    def webhook_notifications(self, webhook_id: str, status: str | None = None) -> list[dict]:
        self.get_webhook(webhook_id)
        found = [n for n in self.notifications.values() if n["webhook_id"] == webhook_id]
        return [n for n in found if status is None or n["status"] == status]

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until no notification is pending or retrying; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                busy = any(n["status"] in ("pending", "retry") for n in self.notifications.values())
            if not busy:
                return True
            time.sleep(0.01)
        return False
