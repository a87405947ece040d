"""Print what one reconciliation report costs: Exact and Eduframe calls, time, against both simulators in-process.

N invoices are opened in the Eduframe simulator and each gets its entry in the Exact simulator (posted straight
to its API, as EduExact would have booked it, with the record EduExact would have kept), all in this month.
Then the report of this month is made, and compared with what the CRUD endpoint would have cost (60 a call).

Run: .venv/bin/python bench/reconciliation_calls.py [--invoices 2000]   (a temporary SQLite database)
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
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

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._connect import connected_installation  # noqa: E402
from sandbox.eduframe.app import create_app as create_eduframe  # noqa: E402
from sandbox.exact.app import create_app as create_exact  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from sync.models import InvoiceRecord  # noqa: E402
from sync.services.reconciliation import reconciliation_estimate, report_make  # noqa: E402

DIVISION = 1234567


def start(create_app):
    app = create_app()
    return SandboxServer(app).start(), app.state


def seed(exact_server, exact, eduframe, installation, count: int) -> None:
    """N open invoices in Eduframe and, for each, the entry and record EduExact would have made."""
    vat = eduframe.add_vat("21% BTW", "21")
    account = eduframe.add_account("Rijn Advies B.V.", email="finance@rijn.example")
    tokens = exact.issue_tokens_for(exact.default_user().user_id)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    gl = next(row["ID"] for row in exact.division(DIVISION).gl_accounts.values() if row["Code"] == "8000")
    with httpx.Client(base_url=f"{exact_server.url}/api/v1/{DIVISION}/", headers=headers, timeout=10) as api:
        customer = api.post("crm/Accounts", json={"Name": "Rijn Advies B.V.", "Status": "C"}).json()["d"]["ID"]
        with eduframe.webhooks_suppressed():
            for n in range(count):
                price = f"{100 + n % 400}.00"
                item = {"name": "Cursus", "units": 1, "unit_price": price, "invoice_vat_id": vat["id"]}
                invoice = eduframe.add_invoice(account["id"], [item], status="open")
                line = {"GLAccount": gl, "AmountFC": price, "VATCode": "2"}
                body = {"Journal": "70", "Customer": customer, "EntryDate": str(invoice["opened_at"]),
                        "YourRef": invoice["number"], "SalesEntryLines": [line]}  # fmt: skip
                entry = api.post("salesentry/SalesEntries", json=body).json()["d"]
                InvoiceRecord.objects.create(
                    installation=installation, eduframe_invoice_id=invoice["id"], number=invoice["number"],
                    state="booked", eduframe_status="open", invoice_date=invoice["opened_at"],
                    exact_entry_id=entry["EntryID"], booked_at=timezone.now(),
                )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2000)
    count = parser.parse_args().invoices
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    exact_server, exact = start(create_exact)
    eduframe_server, eduframe = start(create_eduframe)
    exact.rate_limits_enabled = False  # seeding only; the report's calls are counted below
    settings.EXACT_BASE_URL, settings.EDUFRAME_BASE_URL = exact_server.url, eduframe_server.url
    exact.seed_division(DIVISION, "Bench Academy B.V.")
    installation = connected_installation(exact_server, exact, division=DIVISION,
                                          sync_from=timezone.localdate() - timedelta(days=400))  # fmt: skip
    seed(exact_server, exact, eduframe, installation, count)
    today = timezone.localdate()
    estimate = reconciliation_estimate(installation=installation, year=today.year)
    started = time.perf_counter()
    report, eduframe_calls, exact_calls = report_make(installation=installation, year=today.year, month=today.month)
    seconds = time.perf_counter() - started
    print(f"invoices in the month (and the year):   {count}")
    print(f"estimated calls:                        Eduframe {estimate.eduframe}, Exact {estimate.exact}")
    print(f"calls made:                             Eduframe {eduframe_calls}, Exact {exact_calls}")
    print(f"Exact calls on the CRUD endpoint (60):  {math.ceil(count / 60)}")
    print(f"differences found:                      {len(report.differences)}")
    print(f"totals incl. VAT:                       Eduframe {report.eduframe.incl}, Exact {report.exact.incl}")
    print(f"wall time of the report:                {seconds:.2f} s")
    exact_server.stop()
    eduframe_server.stop()


if __name__ == "__main__":
    main()
