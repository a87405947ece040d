"""ExactState: everything the simulator knows, behind one lock, with an injectable clock."""

from __future__ import annotations

import os
import threading
from collections import Counter

from . import admin
from .clock import SandboxClock
from .division import Division, build_lookups, repad_vat_codes
from .fair_use import PREMIUM_CAP, STANDARD_CAP, FairUse
from .faults import FaultRegistry
from .hosts import DEFAULT_COUNTRY, host_country
from .identity import Client, User
from .odata import new_guid
from .rate_limits import RateLimiter
from .snapshot import snapshot_state
from .tokens import TokenStore

DEFAULT_CLIENT_ID = "eduexact-sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-secret"


def default_redirect_uri() -> str:
    """The one redirect URI the built-in client is registered with: SANDBOX_EXACT_REDIRECT_URI, else the
    contract's `{PUBLIC_URL}/exact/callback` (the same PUBLIC_URL the service is started with)."""
    explicit = os.environ.get("SANDBOX_EXACT_REDIRECT_URI")
    if explicit:
        return explicit
    # An empty PUBLIC_URL counts as unset, as in the service's settings.
    return (os.environ.get("PUBLIC_URL") or "http://localhost:8000").rstrip("/") + "/exact/callback"


class ExactState:
    def __init__(self, clock: SandboxClock | None = None):
        self.lock = threading.RLock()
        self.clock = clock or SandboxClock()
        self.reset()

    def reset(self) -> None:
        """Forget everything except the clock; re-register the default client."""
        with self.lock:
            self.clients: dict[str, Client] = {}
            self.users: dict[str, User] = {}
            self.divisions: dict[int, Division] = {}
            self.tokens = TokenStore()
            self.limits = RateLimiter()
            self.fair_use = FairUse()
            self.faults = FaultRegistry()
            self.request_log: list[dict] = []
            self.webhook_deliveries: list[dict] = []
            self._configure_defaults()
            self.register_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, [default_redirect_uri()])

    def _configure_defaults(self) -> None:
        self.auto_approve = False
        self.business_error_status = 500  # 500 in almost every report [R S15]; 400 possible today [U]
        self.honour_prefer = True  # without Prefer: return=representation, POST answers nulls [C S10]
        self.require_accept_json = True  # Exact answers Atom XML otherwise [R S19]; we answer 406
        # "Wrong Division" (onFact [R S17]) is a missing right: 403 by default; 401 (item 12 allows both) sends
        # clients into a refresh that is refused as too early, so it is only a switch.
        self.foreign_division_status = 403
        self.date_offset_mode = "shift"  # see odata.parse_date_input
        self.honour_posted_type = False  # Type is read-only per the metadata [C S5]
        self.duplicate_entry_number = "refuse"  # or "replace": ossobv's "silently ignored" [K S7]
        # Clients use VAT codes as 3-character strings ('2  ' in ossobv [K S7]): stored padded by default;
        # SANDBOX_EXACT_PAD_VAT_CODES=0 (or the config switch) stores them unpadded.
        self.pad_vat_codes = os.environ.get("SANDBOX_EXACT_PAD_VAT_CODES", "1") not in ("0", "false", "no")
        self.filter_case_insensitive = True
        self.max_post_bytes = 10 * 1024 * 1024  # [C S1]
        self.select_required: list[str] = []  # CRUD endpoints that insist on $select or $top=1 [K S6]
        self.default_country = DEFAULT_COUNTRY  # the platform of hosts that are not Exact's (127.0.0.1...)
        self.mandatory_filter_endpoints = ["crm/Accounts"]  # others: resources.OPTIONAL_FILTER_FIELDS (item 23)
        self.duplicate_webhook_topic = "refuse"  # or "allow": "Data already exists" is unverified [R]
        self.webhook_attempts = 10  # a non-2xx delivery is retried about 10 times [R]
        self.webhook_retry_seconds = 1.0  # first back-off, doubling each time
        self.top_bare_array = False  # $top answers {"d": [...]} when on (item 14); the object form by default
        # Sync endpoints this app may not use (a licence, a right such as "retrieve deleted records" [R Invantive]
        # or an endpoint retired): they answer `unavailable_status` (404 or 403) to every call.
        self.unavailable_endpoints: list[str] = []
        self.unavailable_status = 404

    # -- switches that live on sub-objects -------------------------------------------------------
    @property
    def premium(self) -> bool:
        return self.fair_use.contract_daily_limit == PREMIUM_CAP

    @premium.setter
    def premium(self, value: bool) -> None:
        """A Premium licence: 30,000 calls a day for the contract, with no per-app restriction [C S1], so the
        per-app daily limit becomes the contract's; switching back restores 20,000 and 5,000."""
        self.fair_use.contract_daily_limit = PREMIUM_CAP if value else STANDARD_CAP
        self.limits.daily_limit = PREMIUM_CAP if value else 5000

    @property
    def pad_vat_codes(self) -> bool:
        return self._pad_vat_codes

    @pad_vat_codes.setter
    def pad_vat_codes(self, value: bool) -> None:
        """Switching re-stores the codes of every seeded division, so the switch works after seeding too."""
        self._pad_vat_codes = bool(value)
        for division in getattr(self, "divisions", {}).values():
            repad_vat_codes(division, self._pad_vat_codes)

    @property
    def rate_limits_enabled(self) -> bool:
        return self.limits.enabled

    @rate_limits_enabled.setter
    def rate_limits_enabled(self, value: bool) -> None:
        self.limits.enabled = value

    # -- identities --------------------------------------------------------------------------------
    def register_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> Client:
        with self.lock:
            client = Client(client_id, client_secret, list(redirect_uris))
            self.clients[client_id] = client
            return client

    def register_redirect_uri(self, uri: str, client_id: str = DEFAULT_CLIENT_ID) -> None:
        """Register `uri` as the client's only redirect URI (tests whose service runs on another port)."""
        with self.lock:
            self.clients[client_id].redirect_uris = [uri]

    def add_user(
        self, user_id=None, full_name="Demo Accountant", email="demo@example.com", divisions=None, current_division=None
    ) -> User:
        with self.lock:
            divisions = list(divisions if divisions is not None else self.divisions)
            current = current_division if current_division is not None else (divisions[0] if divisions else None)
            user = User(str(user_id or new_guid()).lower(), full_name, email, divisions, current)
            self.users[user.user_id] = user
            return user

    def default_user(self) -> User | None:
        return next(iter(self.users.values()), None)

    # -- divisions -----------------------------------------------------------------------------------
    def seed_division(
        self,
        code: int,
        name: str,
        *,
        journals=None,
        gl_accounts=None,
        cost_centers=None,
        cost_units=None,
        vat_codes=None,
        licence: str = "demo",
        country: str | None = None,
    ) -> Division:
        with self.lock:
            country = (country or self.default_country).upper()
            division = Division(int(code), name, hid=len(self.divisions) + 1, licence=licence, country=country)
            build_lookups(division, journals, gl_accounts, cost_centers, cost_units, vat_codes, self.pad_vat_codes)
            self.divisions[division.code] = division
            self._grant_default_user(division.code)
            return division

    def _grant_default_user(self, code: int) -> None:
        demo = next((u for u in self.users.values() if u.email == "demo@example.com"), None)
        if not self.users:
            self.add_user(divisions=[code], current_division=code)
        elif demo and code not in demo.divisions:
            demo.divisions.append(code)

    def division(self, code: int) -> Division:
        return self.divisions[int(code)]

    # -- tokens ----------------------------------------------------------------------------------------
    def issue_tokens_for(self, user_id: str, client_id: str = DEFAULT_CLIENT_ID, country: str | None = None) -> dict:
        with self.lock:
            if user_id not in self.users or client_id not in self.clients:
                raise KeyError("unknown user or client")
            return self.tokens.issue(client_id, user_id, self.clock.now(), (country or self.default_country).upper())

    def request_country(self, request) -> str:
        """The country platform a request reached, from its Host header (item 1)."""
        return host_country(request.host, self.default_country)

    # -- faults and budgets ------------------------------------------------------------------------------
    def inject_fault(self, endpoint: str, kind: str, count: int = 1) -> None:
        with self.lock:
            self.faults.inject(endpoint, kind, count)

    def consume_budget(self, division: int, n: int, client_id: str = DEFAULT_CLIENT_ID, minutely=False) -> None:
        with self.lock:
            self.limits.consume(client_id, int(division), self.clock.now(), n, minutely)

    def consume_contract_budget(self, division: int, calls: int) -> None:
        """Calls the contract's other apps made today (they count toward the fair-use cap only)."""
        with self.lock:
            licence = self.division(division).licence
            self.fair_use.consume(licence, self.clock.now(), self.limits.daily_reset_tz, int(calls))

    # -- back-office operations (what a user does in Exact's UI) -------------------------------------------
    def merge_accounts(self, division: int, survivor_id: str, merged_id: str) -> None:
        with self.lock:
            admin.merge_accounts(self.division(division), survivor_id.lower(), merged_id.lower(), self.clock.now())

    def process_entry(self, division: int, entry_id: str) -> None:
        with self.lock:
            admin.process_entry(self.division(division), entry_id.lower())

    def close_period(self, division: int, year: int, period: int) -> None:
        with self.lock:
            self.division(division).closed_periods.add((int(year), int(period)))

    # -- inspection ---------------------------------------------------------------------------------------
    def log_request(self, **entry) -> None:
        with self.lock:
            self.request_log.append({**entry, "time": self.clock.now().isoformat()})

    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(Counter(f"{e['method']} {e['endpoint']}" for e in self.request_log))

    def snapshot(self) -> dict:
        with self.lock:
            return snapshot_state(self)
