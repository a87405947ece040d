"""EduframeState: the whole simulated tenant, thread-safe, on an injectable clock.

The behaviour lives in mixins, one module per concern: seeding, invoices, webhooks, auth, faults.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, deque

from sandbox.eduframe.auth import ALL_SCOPES, AuthMixin
from sandbox.eduframe.clock import Clock
from sandbox.eduframe.faults import FaultMixin
from sandbox.eduframe.invoices import InvoiceMixin
from sandbox.eduframe.records import Sequences, locked, new_tables
from sandbox.eduframe.seeding import SeedingMixin
from sandbox.eduframe.serializers import public
from sandbox.eduframe.webhooks import WebhookMixin

DEFAULT_TOKEN = "demo-token"
DEFAULT_CLIENT_ID = "eduexact-eduframe"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
REQUEST_LOG_SIZE = 20000


def default_educator(slug: str = "demo-academy", name: str = "Demo Academy") -> dict:
    # The tenant UUID is derived from the slug so demo snapshots are reproducible.
    return {
        "id": 17,
        "slug": slug,
        "name": name,
        "currency": "EUR",
        "country": "NL",
        "time_zone": "Europe/Amsterdam",
        "locale": "nl",
        "default_invoice_vat_multiplier": "1.21",
        "tenant_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{slug}.eduframe.nl")),
    }


class EduframeState(SeedingMixin, InvoiceMixin, WebhookMixin, AuthMixin, FaultMixin):
    """One Eduframe tenant. All public methods are safe to call from several threads."""

    def __init__(self, clock: Clock | None = None, educator: dict | None = None):
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.educator = educator or default_educator()
        self._init_data()
        self._init_options()
        self._init_auth()
        self._init_faults()
        self._init_webhooks()
        self._seed_defaults()

    def _init_data(self) -> None:
        self.ids = Sequences()
        self.tables = new_tables()
        self.locations: dict[str, int] = {}
        self.invoice_numbers: dict[int, int] = {}
        self.request_log: deque[dict] = deque(maxlen=REQUEST_LOG_SIZE)

    def _init_options(self) -> None:
        self.payment_term_days = 30
        self.discount_mode = "line"  # or "folded": the discount lowers the course line's unit_price
        self.allow_delete_non_concept = True
        self.per_page_over_max = "clamp"  # or "reject" (400)
        self.strict_params = False  # True: unknown query parameters answer 400
        self.auth_failure_status = 401  # the real API may answer 404 instead
        self.forbidden_status = 403

    def _seed_defaults(self) -> None:
        self.add_token(DEFAULT_TOKEN, list(ALL_SCOPES))
        self.add_oauth_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, name="EduExact")

    @locked
    def reset(self) -> None:
        """Forget everything except the clock and educator; pending deliveries are abandoned."""
        self.delivery.stop()
        self.__init__(clock=self.clock, educator=self.educator)

    @locked
    def log_request(self, entry: dict) -> None:
        self.request_log.append(entry)

    @locked
    def counts(self) -> dict:
        """Counts per table (live records only), invoices per status, requests and notifications."""
        live = {name: [r for r in table.values() if not r.get("_deleted")] for name, table in self.tables.items()}
        counts = {name: len(rows) for name, rows in live.items()}
        counts["invoices_by_status"] = dict(Counter(invoice["status"] for invoice in live["invoices"]))
        counts["deleted_invoices"] = len(self.tables["invoices"]) - counts["invoices"]
        counts["webhooks"] = len(self.webhooks)
        counts["notifications_by_status"] = dict(Counter(n["status"] for n in self.notifications.values()))
        counts["requests"] = len(self.request_log)
        return counts

    @locked
    def snapshot(self) -> dict:
        """Everything a test may compare, as API-shaped JSON (deleted invoices listed apart)."""
        data = {"educator": dict(self.educator)}
        for name, table in self.tables.items():
            data[name] = [public(record) for record in table.values() if not record.get("_deleted")]
        data["deleted_invoice_ids"] = [i for i, r in self.tables["invoices"].items() if r.get("_deleted")]
        data["webhooks"] = [public(webhook) for webhook in self.webhooks.values()]
        return data
