"""What the bench scripts share once Django runs: simulators, connected installations, invoices, entry counts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

from django.utils import timezone

from plugin.models import ExactConnection, GlobalSettings, Installation
from sandbox.eduframe.app import create_app as create_eduframe
from sandbox.eduframe.auth import ALL_SCOPES
from sandbox.eduframe.serializers import public
from sandbox.exact.app import create_app as create_exact
from sandbox.server import SandboxServer
from sync.eduframe.entities import Invoice


def _exact_connection(installation: Installation, base_url: str, tokens: dict, *, lifetime: timedelta) -> None:
    now = timezone.now()
    ExactConnection.objects.create(
        installation=installation,
        base_url=base_url,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_expires_at=now + lifetime,
        tokens_issued_at=now,
    )


def connected_installation(exact_server, exact, *, division: int, sync_from: date) -> Installation:
    """An installation with the Exact simulator's own tokens, journal 70, ledger 8000 and `Sync from`."""
    tokens = exact.issue_tokens_for(exact.default_user().user_id)
    installation = Installation.objects.create(
        educator_slug="demo-academy", educator_name="Demo Academy", eduframe_access_token="demo-token"
    )
    _exact_connection(installation, exact_server.url, tokens, lifetime=timedelta(seconds=600))
    GlobalSettings.objects.create(
        installation=installation, division=division, journal_code="70", ledger_code="8000", sync_from=sync_from
    )
    return installation


def reset_database() -> None:
    """Empty the bench's database and migrate it (the bench owns that database)."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def start_simulators():
    """Both simulators served over HTTP on loopback in this process: (exact server, eduframe server, states)."""
    exact_server = SandboxServer(create_exact()).start()
    eduframe_server = SandboxServer(create_eduframe()).start()
    return exact_server, eduframe_server, exact_server.app.state, eduframe_server.app.state


def make_tenant(n: int, exact_server, exact, eduframe, *, division: int) -> Installation:
    """Installation `bench-<n>`: its own Eduframe token (its own Eduframe limit) and Exact division, under its own
    Exact contract as every training provider has (one shared licence would cap all tenants at its 20,000 a day)."""
    exact.seed_division(division, f"Bench {n} B.V.", licence=f"bench-{n}")
    tokens = exact.issue_tokens_for(exact.default_user().user_id)
    token = f"bench-token-{n}"
    eduframe.add_token(token, list(ALL_SCOPES))
    installation = Installation.objects.create(educator_slug=f"bench-{n}", eduframe_access_token=token)
    _exact_connection(installation, exact_server.url, tokens, lifetime=timedelta(hours=2))
    GlobalSettings.objects.create(
        installation=installation,
        division=division,
        journal_code="70",
        ledger_code="8000",
        sync_from=timezone.localdate() - timedelta(days=30),
    )
    return installation


def add_invoices(eduframe, count: int) -> list[Invoice]:
    """`count` open invoices of EUR 121, five per customer (new and known customers both), without webhooks."""
    vat = eduframe.add_vat("21% BTW", "21")
    invoices, account = [], None
    with eduframe.webhooks_suppressed():
        for n in range(count):
            if n % 5 == 0:
                account = eduframe.add_account(f"Klant {n // 5}", email=f"klant{n // 5}@example.nl")
            item = {"name": "Cursus", "units": 1, "unit_price": "100.00", "invoice_vat_id": vat["id"]}
            invoices.append(Invoice.from_api(_public(eduframe.add_invoice(account["id"], [item], status="open"))))
    return invoices


def _public(row: dict) -> dict:
    """A simulator row as Eduframe's API shows it (JSON types)."""
    return json.loads(json.dumps(public(row), default=str))


def entries_per_ref(exact, divisions: set[int]) -> Counter:
    """(division, YourRef) -> how many sales entries the Exact simulator holds for it."""
    with exact.lock:
        return Counter(
            (code, entry.get("YourRef"))
            for code, division in exact.divisions.items()
            if code in divisions
            for entry in division.entries.values()
        )
