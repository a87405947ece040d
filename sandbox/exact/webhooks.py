"""`webhooks/WebhookSubscriptions` and the deliveries they cause [C S6, S8; K S9].

POST `{CallbackURL (https), Topic}`; a second subscription of one app for the same topic in a division answers
500 "Data already exists" (reported, unverified [R]: `duplicate_webhook_topic` "allow" switches it off). No PUT
(the .NET SDK: "You're not allowed to Update() a webhook" [K]). A change of a subscribed entity is delivered
as `{"Content":{...},"HashCode":"<upper-hex HMAC-SHA256 of the Content JSON text, keyed with the app's webhook
secret>"}` (picqer Webhook/Authenticatable.php [K]); a non-2xx answer is retried about 10 times with
exponential back-off [R].
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from urllib.parse import urlsplit

import httpx

from .errors import BusinessError, Messages
from .odata import new_guid
from .resources import Ctx, Resource
from .schema import WEBHOOK_SUBSCRIPTION

# Topics seen in sources (no authoritative list [R]); the ones whose entities the sandbox holds are delivered.
TOPICS = frozenset(
    "Accounts BankAccounts BankEntries CashEntries Contacts CostTransactions Documents FinancialTransactions "
    "GeneralJournalEntries GoodsDeliveries Items PurchaseEntries PurchaseOrders Quotations SalesEntries "
    "SalesInvoices SalesOrders StockPositions Subscriptions TimeTransactions".split()
)
TOPIC_OF_PATH = {
    "crm/Accounts": "Accounts",
    "salesentry/SalesEntries": "SalesEntries",
    "documents/Documents": "Documents",
}


class WebhookSubscriptions(Resource):
    path = "webhooks/WebhookSubscriptions"
    spec = WEBHOOK_SUBSCRIPTION
    methods = ("GET", "POST", "DELETE")

    def store(self, ctx: Ctx) -> dict:
        """An app sees its own subscriptions."""
        return {key: row for key, row in ctx.division.webhooks.items() if row["ClientID"] == ctx.client_id}

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        messages = Messages()
        url, topic = (values.get("CallbackURL") or "").strip(), (values.get("Topic") or "").strip()
        if not url:
            messages.add("Verplicht: CallbackURL")
        elif urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
            messages.add("Ongeldig: CallbackURL")  # HTTPS only [R pionect]
        if not topic:
            messages.add("Verplicht: Topic")
        elif topic not in TOPICS:
            messages.add("Ongeldige referentie: Topic")
        messages.raise_if_any()
        taken = any(row["Topic"] == topic for row in self.store(ctx).values())
        if taken and ctx.state.duplicate_webhook_topic != "allow":
            raise BusinessError("Data already exists")
        row = {name: None for name in WEBHOOK_SUBSCRIPTION.fields}
        row.update({"ID": new_guid(), "CallbackURL": url, "Topic": topic, "ClientID": ctx.client_id})
        row.update({"UserID": ctx.user_id, "Division": ctx.division.code, "IsInstant": False})
        row.update({"Description": values.get("Description"), "Created": ctx.local_now, "Creator": ctx.user_id})
        ctx.division.webhooks[row["ID"]] = row
        return row

    def delete(self, ctx: Ctx, row: dict) -> None:
        del ctx.division.webhooks[row["ID"]]


def content_and_hash(content: dict, secret: str) -> tuple[str, str]:
    """The Content JSON text as sent, and its upper-hex HMAC-SHA256 with the app's webhook secret."""
    text = json.dumps(content, separators=(",", ":"))
    return text, hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def notify(ctx: Ctx, path: str, action: str, key) -> None:
    """Deliver a Create/Update/Delete of one entity to every subscription of its topic in the division."""
    topic = TOPIC_OF_PATH.get(path)
    if topic is None:
        return
    state = ctx.state
    for subscription in list(ctx.division.webhooks.values()):
        client = state.clients.get(subscription["ClientID"])
        if subscription["Topic"] != topic or client is None:
            continue
        content = {
            "Topic": topic,
            "ClientId": client.client_id,
            "Division": ctx.division.code,
            "Action": action,
            "Key": str(key),
            "ExactOnlineEndpoint": f"{ctx.base_url}/api/v1/{ctx.division.code}/{path}(guid'{key}')",
            "EventCreatedOn": ctx.local_now.isoformat(timespec="milliseconds"),
        }
        text, digest = content_and_hash(content, client.webhook_secret)
        body = '{"Content":' + text + ',"HashCode":"' + digest + '"}'
        delivery = {"url": subscription["CallbackURL"], "topic": topic, "action": action, "key": str(key)}
        delivery |= {"attempts": 0, "status": None, "body": body}
        state.webhook_deliveries.append(delivery)
        threading.Thread(target=_deliver, args=(state, delivery), daemon=True).start()


def _deliver(state, delivery: dict) -> None:
    """POST the notification; retry a non-2xx answer or a failed connection with exponential back-off."""
    # The default context honours SSL_CERT_FILE, so tests can trust their own receiver's certificate.
    with httpx.Client(verify=ssl.create_default_context(), timeout=10) as client:
        for attempt in range(1, state.webhook_attempts + 1):
            try:
                status = client.post(
                    delivery["url"], content=delivery["body"], headers={"Content-Type": "application/json"}
                ).status_code
            except httpx.HTTPError:
                status = 0
            with state.lock:
                delivery["attempts"], delivery["status"] = attempt, status
            if 200 <= status < 300:
                return
            time.sleep(state.webhook_retry_seconds * 2 ** (attempt - 1))
