"""The contract suite's fixtures: one running service (simulators, web, worker) per session, installed once
through a real browser as an administrator would, and helpers that only use the contract's surfaces."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.contract.harness import Service, did_fail, running_service, wait_for

# Playwright's sync API runs an event loop in this thread; pytest-django's fixtures still call Django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DIVISION = 1234567  # the demo division of the Exact simulator (sandbox/demo_data.py)
LEDGER, JOURNAL = "8000", "70"
COURSE = "Python for Data Analysis"  # a demo course template; its code PDA is also an Exact cost unit
TEMPLATE_CODES = {"Ledger code": "8010", "Cost center": "CC200", "Cost unit": "PDA"}
EDITION_CODES = {"Ledger code": "8020", "Cost center": "CC100", "Cost unit": "PDA"}
# Two days back: a handful of the demo's 1000 invoices (opened yesterday or the day before) qualify.
SYNC_FROM_DAYS_BACK = 2
BOOKED_STATUSES = ("open", "paid", "expired")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The service as an outsider starts it: simulators, `migrate`, runserver and a worker, contract env only."""
    with running_service(tmp_path_factory.mktemp("contract")) as running:
        _STASH["service"] = running
        yield running
        _STASH.pop("service", None)


_STASH: dict = {}  # the running service, once a test started it, for the failure logs


@pytest.fixture(autouse=True)
def _logs_on_failure(request):
    """When a contract test fails, show what the service's processes said."""
    yield
    if did_fail(request) and "service" in _STASH:
        print(_STASH["service"].logs())


@dataclass
class Installed:
    """What the browser install left behind, as an outsider can know it."""

    service: Service
    page: object  # the administrator's logged-in Playwright page
    installation_id: int
    webhook_secret: str
    sync_from: date
    filled: dict = field(default_factory=dict)  # page -> {label: value} as filled and read back

    @property
    def webhook_url(self) -> str:
        return f"{self.service.url}/webhooks/eduframe/{self.installation_id}/{self.webhook_secret}"


def connect_exact_and_choose_the_division(page, division: int = DIVISION) -> None:
    """Forwarded to the simulated Exact page after the install: approve there, then choose the division."""
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    page.get_by_label("Division", exact=True).select_option(str(division))
    page.get_by_role("button", name="Use this division").click()
    expect(page.get_by_text("Division saved.")).to_be_visible()


def _fill_by_label(page, values: dict) -> dict:
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    return values


def _read_by_label(page, labels) -> dict:
    return {label: page.get_by_label(label, exact=True).input_value() for label in labels}


@pytest.fixture(scope="session")
def installed(service, chromium) -> Installed:
    """`GET /install/?educator=demo-academy` in Chromium: token, forwarded to Exact, Approve, the division, the
    global settings, then one course template's and one of its editions' overrides, each field found by label."""
    from playwright.sync_api import expect

    # The simulator allows 60 Exact calls a minute; booking the demo's recent invoices and the tests' own takes a
    # few hundred calls, so this run raises the simulator's limit to keep the suite fast (limits are tested elsewhere).
    service.exact.control("POST", "config", {"minutely_limit": 1000})
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    url = service.url
    filled = {}

    page.goto(f"{url}/install/?educator=demo-academy")
    page.get_by_label("Eduframe API token").fill("demo-token")
    page.get_by_role("button", name="Check token and install").click()
    connect_exact_and_choose_the_division(page)

    page.goto(f"{url}/settings/")
    sync_from = eduframe_today(service) - timedelta(days=SYNC_FROM_DAYS_BACK)
    values = {"Division": str(DIVISION), "Sync from": sync_from.isoformat(), "Ledger code": LEDGER}
    filled["settings"] = _fill_by_label(page, {**values, "Journal code": JOURNAL})
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    page.goto(f"{url}/settings/")
    filled["settings read back"] = _read_by_label(page, filled["settings"])

    page.goto(f"{url}/settings/courses/")
    page.get_by_role("link", name=COURSE, exact=True).click()
    expect(page.get_by_role("heading", name=COURSE)).to_be_visible()
    filled["course url"] = page.url
    filled["course"] = _fill_by_label(page, TEMPLATE_CODES)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(f"Saved the Exact Online codes of {COURSE}")).to_be_visible()
    filled["course read back"] = _read_by_label(page, TEMPLATE_CODES)

    edition_link = page.locator("a[href*='/settings/editions/']").first
    filled["edition name"] = edition_link.inner_text().strip()
    page.get_by_role("link", name=filled["edition name"], exact=True).first.click()
    filled["edition url"] = page.url
    filled["edition"] = _fill_by_label(page, EDITION_CODES)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved the Exact Online codes of")).to_be_visible()
    filled["edition read back"] = _read_by_label(page, EDITION_CODES)

    installation_id, secret = registered_webhook(service)
    return Installed(service, page, installation_id, secret, sync_from, filled)


def registered_webhook(service: Service) -> tuple[int, str]:
    """The installation id and secret of the webhook the service registered on Eduframe at install time."""
    pattern = re.compile(re.escape(service.url) + r"/webhooks/eduframe/(\d+)/([^/?#]+)$")
    for webhook in service.eduframe.state()["webhooks"]:
        match = pattern.match(webhook.get("url", ""))
        if match:
            return int(match.group(1)), match.group(2)
    raise AssertionError(f"No webhook to {service.url} registered on Eduframe: {service.eduframe.state()['webhooks']}")


# --- reading the simulators --------------------------------------------------------------------------------------


def exact_division(service: Service) -> dict:
    return service.exact.state()["divisions"][str(DIVISION)]


def entries_by_ref(service: Service) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in exact_division(service)["entries"]:
        found.setdefault(entry.get("YourRef"), []).append(entry)
    return found


def exact_request_count(service: Service) -> int:
    return len(service.exact.control("GET", "requests")["requests"])


def exact_quiet(service: Service, *, for_seconds: float = 2.0, timeout: float = 90.0) -> int:
    """Wait until the service has made no Exact call for `for_seconds`; return the number of calls so far."""
    import time

    last = {"count": -1, "since": time.monotonic()}

    def settled():
        count = exact_request_count(service)
        now = time.monotonic()
        if count != last["count"]:
            last.update(count=count, since=now)
            return False
        return count if now - last["since"] >= for_seconds else False

    return wait_for(settled, timeout=timeout, interval=0.3, what="the service to stop calling Exact")


def eduframe_invoices(service: Service) -> dict[int, dict]:
    """Every Eduframe invoice not deleted, by id, as Eduframe's API shows it."""
    return {invoice["id"]: invoice for invoice in service.eduframe.state()["invoices"]}


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def webhooks_delivered(service: Service, timeout: float = 15) -> None:
    assert service.eduframe.control("POST", "wait", {"timeout": timeout})["idle"], "Eduframe did not deliver"


def eduframe_today(service: Service) -> date:
    """Today on Eduframe's clock (its time zone decides an invoice's date)."""
    return date.fromisoformat(service.eduframe.control("GET", "clock")["now"][:10])


# --- the administrator's view: the sync log -----------------------------------------------------------------------


def log_has(installed: Installed, key: str, state: str) -> bool:
    """Does the sync log, filtered on `state`, list the invoice shown as `key` (its number, else its id)?"""
    page = installed.page
    page.goto(f"{installed.service.url}/settings/log/?state={state}&q={key}")
    return page.get_by_role("link", name=key, exact=True).count() > 0


def log_attempts(installed: Installed, key: str) -> int:
    """How many sync attempts the invoice's page in the sync log shows."""
    page = installed.page
    page.goto(f"{installed.service.url}/settings/log/?q={key}")
    link = page.get_by_role("link", name=key, exact=True)
    if not link.count():
        return 0
    link.first.click()
    return page.locator("section.attempt").count()


def new_invoice(service: Service, *, variant: dict, units: int = 1, status: str = "open") -> dict:
    """Create an invoice in Eduframe through its control API (it fires invoice.created, and .updated on opening)."""
    account_id = service.eduframe.state()["accounts"][0]["id"]
    item = {"name": variant["name"], "units": units, "unit_price": variant["cost"], "catalog_variant_id": variant["id"]}
    item["invoice_vat_id"] = next(
        v["id"] for v in service.eduframe.state()["invoice_vats"] if v["percentage"] == "21.0"
    )
    invoice = service.eduframe.control("POST", "invoices", {"account_id": account_id, "items": [item]})
    if status == "open":
        invoice = service.eduframe.control("POST", f"invoices/{invoice['id']}/open")
    return invoice


def edition_variant(service: Service, edition_id: int) -> dict:
    """The catalog variant Eduframe sells the course edition `edition_id` as."""
    variants = service.eduframe.state()["catalog_variants"]
    return next(v for v in variants if v["variantable_type"] == "PlannedCourse" and v["variantable_id"] == edition_id)


def demo_invoices(installed: Installed, *, since_sync_from: bool) -> dict[str, dict]:
    """The demo's non-concept invoices dated on/after `Sync from` (or before it), by number."""
    found = {}
    for invoice in eduframe_invoices(installed.service).values():
        if invoice["status"] not in BOOKED_STATUSES or not invoice["opened_at"]:
            continue
        if (date.fromisoformat(invoice["opened_at"]) >= installed.sync_from) == since_sync_from:
            found[invoice["number"]] = invoice
    return found


@pytest.fixture(scope="session")
def backfilled(installed) -> dict[str, dict]:
    """Wait until every demo invoice since `Sync from` has an entry and the service stopped calling Exact;
    the later tests start from this quiet state. Returns those invoices by number."""
    service = installed.service
    expected = demo_invoices(installed, since_sync_from=True)
    wait_for(
        lambda: set(expected) <= set(entries_by_ref(service)),
        timeout=120,
        interval=1,
        what=f"the {len(expected)} demo invoices since Sync from to be booked",
    )
    exact_quiet(service)
    return expected
