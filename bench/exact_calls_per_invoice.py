"""Print how many Exact Online API calls one invoice costs, per case, against both simulators in-process.

Run: .venv/bin/python bench/exact_calls_per_invoice.py   (a temporary SQLite database; nothing else needed)
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK_DIR = tempfile.mkdtemp(prefix="eduexact-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduexact_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("TOKEN_ENCRYPTION_KEY", "bench-only-token-key")
os.environ["EDUEXACT_VAR_DIR"] = WORK_DIR
os.environ["DATABASE_URL"] = f"sqlite:///{WORK_DIR}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._connect import connected_installation  # noqa: E402
from plugin.models import GlobalSettings, Installation, VatMapping  # noqa: E402
from sandbox.eduframe.app import create_app as create_eduframe  # noqa: E402
from sandbox.exact.app import create_app as create_exact  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from sync.models import InvoiceRecord  # noqa: E402
from sync.services.invoice_sync import invoice_sync  # noqa: E402

DIVISION = 1234567
CATCH_UP = 20  # new customers waiting in the catch-up case


def start(create_app) -> tuple[SandboxServer, object]:
    app = create_app()
    return SandboxServer(app).start(), app.state


def connect(exact_server, exact) -> Installation:
    """Seed the Exact division and an installation connected to it, with complete settings."""
    exact.seed_division(DIVISION, "Bench Academy B.V.")
    return connected_installation(
        exact_server, exact, division=DIVISION, sync_from=timezone.localdate() - timedelta(days=30)
    )


def exact_calls(exact) -> int:
    return sum(1 for request in exact.request_log if "/api/v1/" in request["path"])


EDUFRAME = None  # the Eduframe simulator's state, set in main()


def book(installation, exact, invoice_id: int, trigger: str = "command") -> tuple[int, int, str, str]:
    """Sync one invoice; return the Exact and Eduframe calls the simulators saw, the Exact endpoints, the outcome."""
    record, _ = InvoiceRecord.objects.get_or_create(installation=installation, eduframe_invoice_id=invoice_id)
    before, eduframe_before = len(exact.request_log), len(EDUFRAME.request_log)
    attempt = invoice_sync(record_id=record.pk, trigger=trigger)
    log = [r for r in exact.request_log[before:] if "/api/v1/" in r["path"]]
    assert len(log) == attempt.exact_calls, (len(log), attempt.exact_calls)
    endpoints = ", ".join(f"{r['method']} {r.get('endpoint') or r['path'].split('?')[0]}" for r in log)
    return len(log), len(EDUFRAME.request_log) - eduframe_before, attempt.get_outcome_display(), endpoints


def catch_up(installation, exact, accounts: list[dict], item: dict) -> tuple[float, float, str, str]:
    """Book one new invoice per new account, all pending and due as a catch-up leaves them; per invoice."""
    invoices = [EDUFRAME.add_invoice(account["id"], [item], status="open") for account in accounts]
    for invoice in invoices:
        InvoiceRecord.objects.create(
            installation=installation,
            eduframe_invoice_id=invoice["id"],
            eduframe_account_id=invoice["account_id"],
            due_at=timezone.now(),
            priority=InvoiceRecord.Priority.CATCH_UP,
        )
    results = [book(installation, exact, invoice["id"], "reconcile") for invoice in invoices]
    exact_calls = sum(r[0] for r in results) / len(results)
    eduframe_calls = sum(r[1] for r in results) / len(results)
    index_reads = sum(r[3].count("sync/") for r in results)
    return exact_calls, eduframe_calls, results[-1][2], f"{len(results)} invoices; {index_reads} index read(s) in all"


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulators' access log is noise here
    call_command("migrate", verbosity=0)
    exact_server, exact = start(create_exact)
    eduframe_server, eduframe = start(create_eduframe)
    global EDUFRAME
    EDUFRAME = eduframe
    settings.EXACT_BASE_URL, settings.EDUFRAME_BASE_URL = exact_server.url, eduframe_server.url
    installation = connect(exact_server, exact)
    exact.rate_limits_enabled = False  # calls are counted here, not paced: the catch-up case exceeds a minute's 60
    vat = eduframe.add_vat("21% BTW", "21")
    VatMapping.objects.create(
        installation=installation, eduframe_vat_id=eduframe.add_vat("0% BTW", "0")["id"], exact_vat_code="0"
    )
    address = {"address": "Kerkstraat 1", "postal_code": "3511 ED", "city": "Utrecht", "country": "NL"}
    first = eduframe.add_account("Rijn Advies B.V.", email="finance@rijn.example", address=address)
    second = eduframe.add_account("Maas Logistiek B.V.", email="admin@maas.example", address=address)
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}

    cases = []
    warmup = eduframe.add_invoice(first["id"], [item], status="open")
    cases.append(("new invoice, new customer, cold lookup cache", *book(installation, exact, warmup["id"])))
    new_customer = eduframe.add_invoice(second["id"], [item], status="open")
    cases.append(("new invoice, new customer", *book(installation, exact, new_customer["id"])))
    backlog = [eduframe.add_account(f"Klant {n} B.V.", email=f"klant{n}@example.com") for n in range(CATCH_UP)]
    cases.append((f"catch-up, {CATCH_UP} new customers (per invoice)", *catch_up(installation, exact, backlog, item)))
    known_customer = eduframe.add_invoice(first["id"], [item], status="open")
    cases.append(("new invoice, known customer", *book(installation, exact, known_customer["id"])))
    eduframe.pay_invoice(known_customer["id"])
    cases.append(("update with nothing changed (paid)", *book(installation, exact, known_customer["id"])))
    cases.append(("repeated webhook, invoice unchanged", *book(installation, exact, known_customer["id"], "webhook")))
    eduframe.edit_invoice(known_customer["id"], feature="PO-2026-114")
    cases.append(("header change (customer reference; PDF shows it)", *book(installation, exact, known_customer["id"])))
    item_id = eduframe.get_invoice(new_customer["id"])["invoice_items"][0]["id"]
    eduframe.edit_invoice(new_customer["id"], items=[{**item, "id": item_id, "unit_price": "650.00"}])
    cases.append(("line change (price; the PDF shows it)", *book(installation, exact, new_customer["id"])))
    GlobalSettings.objects.filter(installation=installation).update(ledger_code="8010")
    cases.append(
        ("ledger changed in the settings (1 line)", *book(installation, exact, new_customer["id"], "settings"))
    )

    width = max(len(name) for name, *_ in cases)
    print(f"{'case'.ljust(width)}  Exact  Eduframe  outcome     Exact endpoints")
    for name, calls, eduframe_calls, outcome, endpoints in cases:
        print(f"{name.ljust(width)}  {calls:>5.3g}  {eduframe_calls:>8.3g}  {outcome.ljust(10)}  {endpoints}")
    exact_server.stop()
    eduframe_server.stop()


if __name__ == "__main__":
    main()
