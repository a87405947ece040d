"""Print the Exact calls one invoice costs in each account case, beside its target (issue 8 section 2, issue 9).

Run: .venv/bin/python bench/exact_calls_per_account_case.py   (a temporary SQLite database; nothing else needed)
The lookup cache is warmed by a first booking that is not counted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

import bench.exact_calls_per_invoice as per_invoice  # noqa: E402 (sets up Django first)
from bench.exact_calls_per_invoice import DIVISION, book, connect, start  # noqa: E402
from sandbox.eduframe.app import create_app as create_eduframe  # noqa: E402
from sandbox.exact.app import create_app as create_exact  # noqa: E402
from sync.connections.exact import exact_client_for  # noqa: E402
from sync.models import AccountLink  # noqa: E402

ADDRESS = {"address": "Kerkstraat 1", "postal_code": "3511 ED", "city": "Utrecht", "country": "NL"}


def errors_seen(exact) -> int:
    return sum(
        1
        for r in exact.request_log
        if "/api/v1/" in r["path"] and str(r["status"]).isdigit() and int(r["status"]) >= 400
    )


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    exact_server, exact = start(create_exact)
    eduframe_server, eduframe = start(create_eduframe)
    per_invoice.EDUFRAME = eduframe  # `book` counts Eduframe's calls too
    settings.EXACT_BASE_URL, settings.EDUFRAME_BASE_URL = exact_server.url, eduframe_server.url
    installation = connect(exact_server, exact)
    vat = eduframe.add_vat("21% BTW", "21")
    item = {"name": "Projectmanagement Basis", "units": 1, "unit_price": "595.00", "invoice_vat_id": vat["id"]}
    client = exact_client_for(installation)

    def account(name: str, email: str) -> dict:
        return eduframe.add_account(name, email=email, address=ADDRESS)

    def invoice_of(eduframe_account: dict) -> int:
        return eduframe.add_invoice(eduframe_account["id"], [item], status="open")["id"]

    def case(name: str, target: str, invoice_id: int) -> tuple:
        errors = errors_seen(exact)
        calls, _eduframe_calls, outcome, _endpoints = book(installation, exact, invoice_id)
        return name, calls, target, errors_seen(exact) - errors, outcome

    rijn = account("Rijn Advies B.V.", "finance@rijn.example")
    book(installation, exact, invoice_of(rijn))  # warms the lookup cache
    cases = [case("known customer, unchanged", "3", invoice_of(rijn))]
    eduframe.rename_account(rijn["id"], "Rijn Advies Groep B.V.")
    cases.append(case("known customer, changed in Eduframe", "4", invoice_of(rijn)))
    maas = account("Maas Logistiek B.V.", "admin@maas.example")
    cases.append(case("new customer", "4", invoice_of(maas)))
    client.create_account(DIVISION, {"Name": "IJssel Training", "Email": "info@ijssel.example", "Status": "C"})
    cases.append(
        case(
            "new customer, same name and e-mail in Exact",
            "-",
            invoice_of(account("IJssel Training B.V.", "info@ijssel.example")),
        )
    )
    client.create_account(DIVISION, {"Name": "Someone Else", "Email": "boss@vecht.example", "Status": "C"})
    vecht = account("Vecht Opleidingen", "boss@vecht.example")
    waiting = invoice_of(vecht)
    cases.append(case("new customer, e-mail matches another name (waits)", "-", waiting))
    cases.append(case("the same, retried before the choice", "0", waiting))
    merged_away = AccountLink.objects.get(eduframe_account_id=rijn["id"]).exact_account_id
    survivor = client.create_account(
        DIVISION, {"Name": "Rijn Advies Groep", "Email": "finance@rijn.example", "Status": "C"}
    )
    exact.merge_accounts(DIVISION, str(survivor.id), str(merged_away))
    cases.append(case("known customer, merged away in Exact", "-", invoice_of(rijn)))
    exact.division(DIVISION).accounts.pop(str(AccountLink.objects.get(eduframe_account_id=maas["id"]).exact_account_id))
    cases.append(case("known customer, deleted in Exact", "-", invoice_of(maas)))

    width = max(len(c[0]) for c in cases)
    print(f"{'case'.ljust(width)}  Exact calls  target  error answers  outcome")
    for name, calls, target, errors, outcome in cases:
        print(f"{name.ljust(width)}  {calls:>11}  {target:>6}  {errors:>13}  {outcome}")
    client.close()
    exact_server.stop()
    eduframe_server.stop()


if __name__ == "__main__":
    main()
