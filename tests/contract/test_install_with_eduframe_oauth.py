"""The install with Eduframe OAuth (`EDUFRAME_CLIENT_ID` and `EDUFRAME_CLIENT_SECRET` set), as an outsider sees it.

A second service of its own (database, broker, ports, simulators) for this module only, so the session's
API-token service stays as it is. The administrator signs in with Eduframe in a real browser, the worker books
invoices with the OAuth access token, and when Eduframe's clock passes the token's lifetime the service renews
it with the (rotating) refresh token on its own.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.contract.conftest import (
    DIVISION,
    JOURNAL,
    LEDGER,
    connect_exact_and_choose_the_division,
    eduframe_today,
    entries_by_ref,
    new_invoice,
)
from tests.contract.harness import Service, did_fail, running_service, wait_for

pytestmark = [pytest.mark.contract, pytest.mark.browser]

CLIENT_ID, CLIENT_SECRET = "eduexact-eduframe", "sandbox-secret"  # the Eduframe simulator's default OAuth client
ACCESS_TOKEN_SECONDS = 7200  # the lifetime of the simulator's OAuth access tokens


@pytest.fixture(scope="module")
def oauth_service(tmp_path_factory):
    extra_env = {"EDUFRAME_CLIENT_ID": CLIENT_ID, "EDUFRAME_CLIENT_SECRET": CLIENT_SECRET}
    with running_service(tmp_path_factory.mktemp("contract-oauth"), extra_env=extra_env) as running:
        yield running


@pytest.fixture(autouse=True)
def _oauth_logs_on_failure(request):
    yield
    if did_fail(request) and "oauth_service" in request.fixturenames:
        print(request.getfixturevalue("oauth_service").logs())


@pytest.fixture(scope="module")
def browser_context(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB")
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture(scope="module")
def oauth_installed(oauth_service, browser_context) -> dict:
    """Click to install -> Eduframe's consent page -> Approve -> Exact -> division -> settings, by label."""
    from playwright.sync_api import expect

    service, page, seen = oauth_service, browser_context.new_page(), {}
    service.exact.control("POST", "config", {"minutely_limit": 1000})

    page.goto(f"{service.url}/install/?educator=demo-academy")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    seen["consent url"] = page.url
    page.get_by_role("button", name="Approve").click()
    connect_exact_and_choose_the_division(page)

    page.goto(f"{service.url}/settings/")
    values = {
        "Division": str(DIVISION),
        "Sync from": eduframe_today(service).isoformat(),
        "Ledger code": LEDGER,
        "Journal code": JOURNAL,
    }
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    page.goto(f"{service.url}/settings/")
    seen["settings"] = values
    seen["settings read back"] = {label: page.get_by_label(label, exact=True).input_value() for label in values}
    page.close()
    return seen


def _variant(service: Service) -> dict:
    return next(v for v in service.eduframe.state()["catalog_variants"] if v["variantable_type"] == "PlannedCourse")


def _booked(service: Service, number: str) -> bool:
    return bool(entries_by_ref(service).get(number))


def _api_requests(service: Service, since: int = 0) -> list[dict]:
    """Eduframe's log of /api/v1 requests (the simulator does not log its /login/oauth2 endpoints)."""
    return service.eduframe.control("GET", "requests")[since:]


def test_the_administrator_signs_in_with_eduframe_and_saves_the_settings(oauth_service, oauth_installed):
    consent = urlsplit(oauth_installed["consent url"])
    query = parse_qs(consent.query)
    assert consent.netloc == urlsplit(oauth_service.eduframe.url).netloc
    assert consent.path == "/login/oauth2/auth"
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["state"][0]
    assert query["redirect_uri"] == [f"{oauth_service.url}/install/callback"]
    assert oauth_installed["settings read back"] == oauth_installed["settings"]
    hooks = oauth_service.eduframe.state()["webhooks"]
    assert any(hook["url"].startswith(f"{oauth_service.url}/webhooks/eduframe/") for hook in hooks), hooks


def test_the_worker_books_an_invoice_with_the_oauth_access_token(oauth_service, oauth_installed):
    service = oauth_service
    since = len(_api_requests(service))
    invoice = new_invoice(service, variant=_variant(service))
    wait_for(lambda: _booked(service, invoice["number"]), timeout=30, what=f"invoice {invoice['number']} booked")

    calls = _api_requests(service, since)
    assert calls, "the service booked the invoice without asking Eduframe"
    assert {call["client_id"] for call in calls} == {CLIENT_ID}, "not (only) the OAuth access token was used"
    assert {call["status"] for call in calls} < set(range(200, 300)), calls


def test_an_expired_eduframe_token_is_refreshed_without_the_administrator(oauth_service, oauth_installed):
    service = oauth_service
    warm_up = new_invoice(service, variant=_variant(service))
    wait_for(lambda: _booked(service, warm_up["number"]), timeout=30, what="an invoice booked before expiry")
    before = _api_requests(service)
    old_tokens = {call["token"] for call in before if call["status"] < 300}

    service.eduframe.control("POST", "clock", {"advance": ACCESS_TOKEN_SECONDS + 60})
    invoice = new_invoice(service, variant=_variant(service))
    wait_for(lambda: _booked(service, invoice["number"]), timeout=40, what="an invoice booked after expiry")

    # The simulator logs /api/v1 only, not its token endpoint: one refresh shows as one 401 with the expired token
    # and one new access token afterwards (a second refresh would have rotated in yet another token).
    calls = _api_requests(service, len(before))
    refused = [call for call in calls if call["status"] == 401]
    accepted_tokens = {call["token"] for call in calls if call["status"] < 300}
    assert len(refused) == 1, refused
    assert refused[0]["token"] in old_tokens
    assert len(accepted_tokens) == 1, calls
    assert not accepted_tokens & old_tokens
    assert {call["client_id"] for call in calls if call["status"] < 300} == {CLIENT_ID}


def test_a_callback_with_a_wrong_state_is_forbidden(oauth_service, chromium):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{oauth_service.url}/install/?educator=demo-academy")  # a state in this browser's session
        answer = page.goto(f"{oauth_service.url}/install/callback?code=stolen&state=not-the-one")
        assert answer.status == 403
    finally:
        context.close()


def test_denying_access_on_eduframe_shows_a_message(oauth_service, chromium):
    from playwright.sync_api import expect

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{oauth_service.url}/install/?educator=demo-academy")
        page.get_by_role("button", name="Deny").click()
        assert urlsplit(page.url).path.startswith("/install/callback")
        assert parse_qs(urlsplit(page.url).query)["error"] == ["access_denied"]
        expect(page.get_by_text("You did not allow EduExact to read your Eduframe data")).to_be_visible()
    finally:
        context.close()
