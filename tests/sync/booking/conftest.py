"""A booking world: both simulators seeded over real HTTP and one installation connected to them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sync.models import InvoiceRecord, SyncAttempt
from sync.services.invoice_sync import invoice_sync
from tests.factories import (
    GlobalSettingsFactory,
    InstallationFactory,
    VatMappingFactory,
    sandbox_connection,
)

DIVISION = 1234567


class World:
    """The two simulators' states and the installation, with helpers to make and book invoices."""

    def __init__(self, exact_sandbox, eduframe_sandbox, installation):
        self.exact = exact_sandbox.state
        self.eduframe = eduframe_sandbox.state
        self.exact_url = exact_sandbox.url
        self.installation = installation
        self.settings = installation.settings
        self.vat_high = self.eduframe.add_vat("21% BTW", "21")
        self.vat_low = self.eduframe.add_vat("9% BTW", "9")
        # Exact has two 0% sales codes (0 and 5), so the 0% rate is mapped by the administrator.
        self.vat_zero = self.eduframe.add_vat("0% BTW", "0")
        VatMappingFactory(installation=installation, eduframe_vat_id=self.vat_zero["id"], exact_vat_code="0")
        self.eduframe.add_signup_question(
            "BTW-nummer", slug="btw-nummer", field_type="vat_number", system_name="vat_number"
        )

    def account(self, name="Noord Consultancy B.V.", **kwargs) -> dict:
        """An Eduframe business account with a Dutch billing address."""
        address = {"address": "Stationsplein 1", "address_line2": "3e etage", "postal_code": "3511 ED"}
        address.update(city="Utrecht", country="NL")
        kwargs.setdefault("email", "finance@noord.example")
        kwargs.setdefault("address", address)
        return self.eduframe.add_account(name, **kwargs)

    def edition(self, name="Projectmanagement Basis", code="PMB") -> tuple[dict, dict, dict]:
        """A course template, one edition of it and the catalog variant invoices point to."""
        course = self.eduframe.add_course(name, code)
        edition = self.eduframe.add_planned_course(course["id"], timezone.localdate() + timedelta(days=30))
        variant = next(
            v for v in self.eduframe.tables["catalog_variants"].values() if v["variantable_id"] == edition["id"]
        )
        return course, edition, variant

    def item(self, name="Cursus", price="100.00", units=1, vat=None, variant=None) -> dict:
        return {
            "name": name,
            "units": units,
            "unit_price": price,
            "invoice_vat_id": (vat or self.vat_high)["id"],
            "catalog_variant_id": variant["id"] if variant else None,
        }

    def invoice(self, items, account=None, status="open", **kwargs) -> dict:
        account = account or self.account()
        return self.eduframe.add_invoice(account["id"], items, status=status, **kwargs)

    def record(self, invoice: dict) -> InvoiceRecord:
        record, _ = InvoiceRecord.objects.get_or_create(
            installation=self.installation, eduframe_invoice_id=invoice["id"]
        )
        return record

    def sync(self, invoice: dict, trigger=SyncAttempt.Trigger.WEBHOOK) -> SyncAttempt:
        attempt = invoice_sync(record_id=self.record(invoice).pk, trigger=trigger)
        return attempt

    def division(self) -> dict:
        return self.exact.snapshot()["divisions"][str(DIVISION)]

    def entries(self) -> list[dict]:
        return self.division()["entries"]

    def entry(self, invoice: dict) -> dict:
        record = self.record(invoice)
        record.refresh_from_db()
        return next(e for e in self.entries() if e["EntryID"] == str(record.exact_entry_id))

    def exact_requests(self) -> list[dict]:
        """The REST calls Exact received (token calls excluded)."""
        return [r for r in self.exact.request_log if "/api/v1/" in r["path"]]


def entry_total(entry: dict) -> Decimal:
    """Sum of the entry's lines including VAT, as Exact stored them."""
    lines = entry["SalesEntryLines"]
    return sum((Decimal(str(line["AmountFC"])) + Decimal(str(line["VATAmountFC"])) for line in lines), Decimal(0))


@pytest.fixture
def world(db, exact_sandbox, eduframe_sandbox) -> World:
    """Both simulators seeded, and an installation connected to them with complete global settings."""
    return world_build(exact_sandbox, eduframe_sandbox)


def world_build(exact_sandbox, eduframe_sandbox) -> World:
    """The `world` fixture's body, for tests elsewhere (the browser tests) that need the same world."""
    exact_sandbox.state.seed_division(DIVISION, "Test Academy B.V.")
    installation = InstallationFactory(educator_slug="demo-academy", eduframe_access_token="demo-token")
    sandbox_connection(installation, exact_sandbox)
    GlobalSettingsFactory(
        installation=installation,
        division=DIVISION,
        journal_code="70",
        ledger_code="8000",
        sync_from=timezone.localdate() - timedelta(days=60),
    )
    return World(exact_sandbox, eduframe_sandbox, installation)


@pytest.fixture
def admin(client, world):
    """The test client signed in as the world's installation's administrator."""
    session = client.session
    session["installation_id"] = world.installation.pk
    session.save()
    return client
