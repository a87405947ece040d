"""Peer check: the PyPI library `exactonline` (ossobv, 0.4.0), unchanged, runs its whole flow against the Exact
simulator over real HTTPS: OAuth consent and code exchange, a refresh, divisions, relations, ledger accounts,
VAT codes, sales entries with and without a PDF (documents, attachments), and a re-commit of each entry.

The library is a production client [K S7]: whatever it sends and expects, a faithful simulator must answer
as Exact does. Only its documented extension points are used: a storage (IniStorage), and the ExactCustomer /
ExactInvoice adapters it asks you to subclass. Its calls per booking are printed (`pytest -s`).
"""

from __future__ import annotations

import re
import ssl
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from time import sleep, time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.exact.app import create_app
from sandbox.exact.clock import SandboxClock
from sandbox.exact.state import ExactState
from sandbox.server import SandboxServer
from tests.sandbox.tls import self_signed_server_context

exactonline = pytest.importorskip("exactonline", reason="the dev extra installs exactonline (pip install -e '.[dev]')")
from exactonline.api import ExactApi  # noqa: E402
from exactonline.elements.invoice import ExactInvoice  # noqa: E402
from exactonline.elements.relation import ExactCustomer  # noqa: E402
from exactonline.resource import GET, POST  # noqa: E402
from exactonline.storage.ini import IniStorage  # noqa: E402

DIVISION = 1234567
CLIENT_ID, CLIENT_SECRET = "exactonline-peer", "peer-secret"
REDIRECT_URI = "https://peer.example/exact/oauth"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def exact(tmp_path, monkeypatch):
    """The simulator over HTTPS (a test CA the library trusts through SSL_CERT_FILE), with the peer app registered;
    its clock frozen at the real time, as the library's rate limiter compares resets with `time()`."""
    state = ExactState(SandboxClock(frozen_at=datetime.now(UTC)))
    state.seed_division(DIVISION, "Demo Academy B.V.")
    state.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    context, cert = self_signed_server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = SandboxServer(create_app(state), ssl_context=context).start()
    yield state, server, cert
    server.stop()


@pytest.fixture
def api(exact, tmp_path) -> ExactApi:
    """An ExactApi connected as its README says: auth URL, consent (the approve page, over HTTP), token, division."""
    state, server, cert = exact
    ini = tmp_path / "exactonline.ini"
    ini.write_text(
        f"[server]\nauth_url = {server.url}/api/oauth2/auth\nrest_url = {server.url}/api\n"
        f"token_url = {server.url}/api/oauth2/token\n\n[application]\nbase_url = {REDIRECT_URI}\n"
        f"client_id = {CLIENT_ID}\nclient_secret = {CLIENT_SECRET}\n"
    )
    api = ExactApi(storage=IniStorage(str(ini)))
    code = _approve(api.create_auth_request_url(), cert)
    api.request_token(code)
    choices, current = api.get_divisions()
    assert choices == {DIVISION: "Demo Academy B.V."}
    api.set_division(current)
    return api


def _approve(auth_url: str, cert) -> str:
    """What the user does in the browser: open the consent page, click Approve; return the code."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=5) as browser:
        page = browser.get(auth_url)
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        answer = browser.post(auth_url.split("?")[0], data={**fields, "decision": "approve"})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


class Customer(ExactCustomer):
    """The adapter the library asks for (README "Using element adapters")."""

    def __init__(self, code: str, name: str, **kwargs):
        super().__init__(**kwargs)
        self.code, self.name = code, name

    def get_code(self):
        return self.code

    def get_name(self):
        return self.name

    def get_address(self):
        return {"AddressLine1": "Stationsplein 1", "Postcode": "3511 ED", "City": "Utrecht", "Country": "NL"}


class Invoice(ExactInvoice):
    """One invoice of 2 lines (21% and 0%), optionally linked to a document holding its PDF."""

    def __init__(self, number: int, customer: Customer, amount: Decimal, document: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.number, self.customer, self.amount, self.document = number, customer, amount, document

    def get_customer(self):
        return self.customer

    def get_created_date(self):
        return date(2025, 3, 14)

    def get_exact_journal(self):
        return "70"

    def get_ledger_lines(self):
        return [
            {"code": "8000", "vat_percentage": 21, "total_amount_excl_vat": self.amount, "description": "Cursus"},
            {"code": "8010", "vat_percentage": 0, "total_amount_excl_vat": Decimal("10.00"), "description": "Boek"},
        ]

    def get_invoice_number(self):
        return f"EDU-{self.number}"

    def get_total_vat(self):
        return (self.amount * Decimal("0.21")).quantize(Decimal("0.01"))

    def get_total_amount_incl_vat(self):
        return self.amount + Decimal("10.00") + self.get_total_vat()

    def hint_exact_invoice_number(self):
        # The library's README: YYYY + journal + the local number.
        created = self.get_created_date()
        return f"{created.year}{int(self.get_exact_journal())}{self.number:04d}"

    def assemble(self):
        data = super().assemble()
        if self.document:
            data["Document"] = self.document
        return data


def _calls(state, since: int) -> list[dict]:
    return state.request_log[since:]


def _book(state, invoice: Invoice) -> int:
    """commit() the invoice; return the number of calls it made, all of which must be answered 2xx."""
    since = len(state.request_log)
    invoice.commit()
    calls = _calls(state, since)
    assert [c for c in calls if not 200 <= int(c["status"]) < 300] == []
    return len(calls)


def _document_with_pdf(api, state, invoice_number: str) -> tuple[str, int]:
    since = len(state.request_log)
    document = api.restv1(POST("documents/Documents", {"Subject": f"Invoice {invoice_number}", "Type": 10}))
    attachment = api.restv1(
        POST(
            "documents/DocumentAttachments",
            {"Document": document["ID"], "FileName": f"{invoice_number}.pdf", "Attachment": _b64(PDF)},
        )
    )
    assert attachment["ID"]
    return document["ID"], len(_calls(state, since))


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_the_exactonline_library_runs_its_whole_flow_against_the_sandbox_with_every_call_answered_2xx(exact, api):
    state = exact[0]
    division = state.division(DIVISION)
    start = len(state.request_log)

    # A refresh, as the library does it: less than 30 s left on its clock (Exact's 570 s have passed).
    state.clock.advance(575)
    api.storage.set_access_expiry(int(time()) + 20)
    old_access = api.storage.get_access_token()

    # Relations: create, then commit again (the update path).
    customer = Customer("10042", "Acme Training BV", api=api)
    customer.commit()
    assert api.storage.get_access_token() != old_access
    customer.commit()
    assert [row["Code"] for row in division.accounts.values()] == ["             10042"]
    assert api.relations.get(relation_code="10042")["Name"] == "Acme Training BV"

    # Ledger accounts and VAT codes, as the library looks them up (VAT codes padded to 3 characters).
    assert {row["Code"] for row in api.ledgeraccounts.filter(code__in=["8000", "8010"])} == {"8000", "8010"}
    assert api.vatcodes.get_percentage(vat_code="2  ") == 0.21
    assert api.vatcodes.get_percentage(vat_code="0  ") == 0.0

    # A sales entry without PDF, then re-committed (new lines POSTed, old ones DELETEd, header PUT).
    plain = Invoice(1, customer, Decimal("100.00"), api=api)
    plain_calls = _book(state, plain)
    plain_recommit_calls = _book(state, Invoice(1, customer, Decimal("120.00"), api=api))

    # A sales entry with its PDF: document, attachment, entry; then re-committed.
    document_id, document_calls = _document_with_pdf(api, state, "EDU-2")
    pdf_calls = _book(state, Invoice(2, customer, Decimal("595.00"), document=document_id, api=api))
    pdf_recommit_calls = _book(state, Invoice(2, customer, Decimal("595.00"), document=document_id, api=api))

    entries = {entry["YourRef"]: entry for entry in division.entries.values()}
    assert set(entries) == {"EDU-1", "EDU-2"}
    assert (entries["EDU-1"]["AmountFC"], entries["EDU-1"]["VATAmountFC"]) == (155.2, 25.2)
    assert entries["EDU-1"]["InvoiceNumber"] == entries["EDU-1"]["EntryNumber"] == 2025700001
    assert (entries["EDU-1"]["ReportingYear"], entries["EDU-1"]["ReportingPeriod"]) == (2025, 3)
    assert entries["EDU-2"]["Document"] == document_id
    assert len(division.lines_of(entries["EDU-2"]["EntryID"])) == 2
    read_back = api.restv1(GET(f"documents/Documents?$filter=ID%20eq%20guid'{document_id}'&$select=ID,Subject"))
    assert read_back[0]["Subject"] == "Invoice EDU-2"

    everything = _calls(state, start)
    assert [c for c in everything if not 200 <= int(c["status"]) < 300] == []
    print(  # noqa: T201 - the figures this check exists to show
        "\nexactonline 0.4.0 against the sandbox, calls per booking: "
        f"without PDF {plain_calls} (re-commit {plain_recommit_calls}); "
        f"with PDF {document_calls + pdf_calls} ({document_calls} for document and attachment, "
        f"re-commit {pdf_recommit_calls}); all {len(everything)} calls answered 2xx"
    )


def test_the_exactonline_library_backs_off_an_injected_429_until_the_minutely_reset(exact, api, monkeypatch):
    """The library sleeps until the reset the 429's headers name (its own `sleep`, recorded here instead of
    waiting up to a minute), then retries once."""
    state = exact[0]
    waits: list[float] = []
    monkeypatch.setattr("exactonline.rawapi.sleep", waits.append)
    if datetime.now(UTC).second >= 55:  # the reset must still be ahead when the library reads it
        sleep(61 - datetime.now(UTC).second)
    state.clock.freeze(datetime.now(UTC))
    state.inject_fault("GET financial/GLAccounts", "429")
    started = time()
    assert {row["Code"] for row in api.ledgeraccounts.filter(code__in=["8000"])} == {"8000"}
    statuses = [c["status"] for c in state.request_log if c["endpoint"] == "financial/GLAccounts"]
    assert statuses == [429, 200]
    minutely_reset = (state.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)).timestamp()
    assert len(waits) == 1
    assert 0 < waits[0] <= minutely_reset - started + 2  # it counts whole seconds, half a second early
