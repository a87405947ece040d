"""The Exact REST client over a fake transport: URLs, paging, errors, rate limits, payloads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sync.errors import (
    WAIT_EXACT_DAY,
    WAIT_EXACT_MINUTE,
    AmbiguousError,
    AuthError,
    DeferredError,
    FunctionalError,
    RetryableError,
)
from sync.exact.client import ExactClient
from tests.factories import InstallationFactory
from tests.sync.clients.conftest import exact_error, odata, token_answer

DIV = 1234567
ENTRY = "c1d2e3f4-0000-4000-8000-000000000001"
CUSTOMER = "9a3e0c1d-5b7f-4c1e-8d2a-0f6b1c2d3e4f"
GL = "0b6f2c7e-1111-4a2b-8c3d-4e5f6a7b8c9d"


def _client(connection, router) -> ExactClient:
    return ExactClient(connection, transport=router.transport)


def _account(code="             10042", **extra) -> dict:
    row = {
        "ID": CUSTOMER, "Code": code, "Name": "Acme", "Email": "a@acme.example", "Status": "C",
        "VATNumber": "NL001", "AddressLine1": "Stationsplein 1", "Postcode": "3511 ED", "City": "Utrecht",
        "Country": "NL ",
    }  # fmt: skip
    return {**row, **extra}


def _line(**extra) -> dict:
    row = {
        "ID": str(uuid4()), "GLAccount": GL, "AmountFC": 100.0, "VATCode": "2  ", "VATAmountFC": 21.0,
        "Description": "Course fee", "Quantity": 1.0, "CostCenter": "100", "CostUnit": None,
    }  # fmt: skip
    return {**row, **extra}


def _entry(lines) -> dict:
    return {
        "EntryID": ENTRY, "EntryNumber": 25700042, "YourRef": "EDU-42", "Customer": CUSTOMER, "Journal": "70",
        "Description": "Invoice 42", "EntryDate": "/Date(1741910400000)/", "DueDate": "/Date(1744502400000)/",
        "Document": None, "AmountFC": 121.0, "VATAmountFC": 21.0, "Status": 20, "Type": 20,
        "SalesEntryLines": lines,
    }  # fmt: skip


def _params(request: httpx.Request) -> dict:
    return dict(request.url.params)


def test_it_names_the_configured_division_in_the_url(connection, router):
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata({"Code": "70", "Description": "Sales", "Type": 20}))
    journals = _client(connection, router).journals(DIV)
    assert journals[0].code == "70"
    assert journals[0].type == 20
    assert router.paths() == [f"/api/v1/{DIV}/financial/Journals"]


def test_it_selects_exactly_the_fields_it_needs(connection, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costcenters", odata({"Code": "100", "Description": "Utrecht"}))
    _client(connection, router).cost_centers(DIV)
    assert _params(router.requests[0]) == {"$select": "Code,Description"}


def test_it_sends_the_bearer_token_and_identifies_itself(connection, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costunits", odata())
    _client(connection, router).cost_units(DIV)
    headers = router.requests[0].headers
    assert headers["authorization"] == "Bearer stored-access"
    assert (headers["user-agent"], headers["accept"]) == ("EduExact/0.1", "application/json")


def test_it_follows_next_links(connection, router):
    path = f"/api/v1/{DIV}/financial/Journals"
    next_url = f"https://start.exactonline.nl{path}?$select=Code,Description,Type,IsBlocked&$skiptoken=guid'x'"
    router.add(
        "GET",
        path,
        [
            odata({"Code": "70", "Description": "A", "Type": 20}, next_url=next_url),
            odata({"Code": "71", "Description": "B", "Type": 20}),
        ],
    )
    client = _client(connection, router)
    assert [j.code for j in client.journals(DIV)] == ["70", "71"]
    assert "$skiptoken=guid'x'" in str(router.requests[1].url).replace("%27", "'")
    assert client.calls_made == 2


def test_it_gets_the_current_user_without_a_division(connection, router):
    me = {"UserID": "u-1", "FullName": "Ann", "Email": "ann@x", "CurrentDivision": 7}
    router.add("GET", "/api/v1/current/Me", odata(me))
    router.add(
        "GET", "/api/v1/7/system/Divisions", odata({"Code": 7, "Description": "Main"}, {"Code": 8, "Description": "B"})
    )
    divisions = _client(connection, router).divisions()
    assert [d.code for d in divisions] == [7, 8]


def test_it_pads_the_account_code_to_18_characters(connection, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts", odata(_account()))
    accounts = _client(connection, router).find_accounts(DIV, code="EF42")
    assert _params(router.requests[0])["$filter"] == "Code eq '              EF42'"
    assert accounts[0].code == "10042"
    assert accounts[0].country == "NL"


def test_it_doubles_quotes_in_filters(connection, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts", odata())
    _client(connection, router).find_accounts(DIV, email="o'brien@example.com")
    assert _params(router.requests[0])["$filter"] == "Email eq 'o''brien@example.com'"


def test_it_wants_an_account_criterion(connection, router):
    with pytest.raises(ValueError):
        _client(connection, router).find_accounts(DIV)


def test_it_searches_several_account_criteria_in_one_call(connection, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts", odata())
    _client(connection, router).find_accounts(DIV, code="EF1", vat_number="NL1B01", email="a@b.nl")
    assert len(router.requests) == 1
    assert _params(router.requests[0])["$filter"] == (
        "Code eq '               EF1' or VATNumber eq 'NL1B01' or Email eq 'a@b.nl'"
    )


def test_it_returns_none_for_an_unknown_account(connection, router):
    assert _client(connection, router).get_account(DIV, uuid4()) is None


def test_it_reads_an_account_by_key(connection, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts(guid'{CUSTOMER}')", httpx.Response(200, json={"d": _account()}))
    assert _client(connection, router).get_account(DIV, CUSTOMER).id == UUID(CUSTOMER)


def test_it_reads_a_sales_entry_with_expanded_lines(connection, router):
    path = f"/api/v1/{DIV}/salesentry/SalesEntries(guid'{ENTRY}')"
    router.add("GET", path, httpx.Response(200, json={"d": _entry({"results": [_line()]})}))
    entry = _client(connection, router).get_sales_entry(DIV, ENTRY)
    assert _params(router.requests[0])["$expand"] == "SalesEntryLines"
    assert entry.lines[0].vat_code == "2"
    assert entry.lines[0].amount_fc == Decimal("100.0")


def test_it_reads_the_entry_date_as_amsterdam_wall_clock(connection, router):
    path = f"/api/v1/{DIV}/salesentry/SalesEntries(guid'{ENTRY}')"
    router.add("GET", path, httpx.Response(200, json={"d": _entry({"results": []})}))
    entry = _client(connection, router).get_sales_entry(DIV, ENTRY)
    assert (entry.entry_date, entry.due_date) == (date(2025, 3, 14), date(2025, 4, 13))


def test_it_fetches_the_lines_when_exact_does_not_expand_them(connection, router):
    deferred = {"__deferred": {"uri": "https://start.exactonline.nl/x"}}
    router.add("GET", f"/api/v1/{DIV}/salesentry/SalesEntries", odata(_entry(deferred)))
    router.add("GET", f"/api/v1/{DIV}/salesentry/SalesEntryLines", odata(_line(), _line()))
    entries = _client(connection, router).find_sales_entries(DIV, your_ref="EDU-42")
    assert len(entries[0].lines) == 2
    assert _params(router.requests[1])["$filter"] == f"EntryID eq guid'{ENTRY}'"


def test_it_sends_decimals_with_two_decimals_and_dates_as_iso(connection, router):
    deferred = {"__deferred": {"uri": "x"}}
    router.add("POST", f"/api/v1/{DIV}/salesentry/SalesEntries", httpx.Response(201, json={"d": _entry(deferred)}))
    payload = {
        "Journal": "70", "Customer": UUID(CUSTOMER), "EntryDate": date(2025, 3, 14),
        "SalesEntryLines": [{"GLAccount": UUID(GL), "AmountFC": Decimal("100"), "VATAmountFC": Decimal("21.005")}],
    }  # fmt: skip
    entry = _client(connection, router).create_sales_entry(DIV, payload)
    raw = router.requests[0].content.decode()
    assert '"AmountFC":100.00' in raw
    assert '"VATAmountFC":21.01' in raw
    assert '"EntryDate":"2025-03-14"' in raw
    assert json.loads(raw)["Customer"] == CUSTOMER
    assert router.requests[0].headers["prefer"] == "return=representation"
    assert (entry.entry_number, entry.lines) == (25700042, ())


def test_it_keeps_exacts_message_word_for_word(connection, router):
    message = "Ongeldig: Klant (Type)\r\nOngeldige referentie: Btw-code"
    router.add("POST", f"/api/v1/{DIV}/salesentry/SalesEntries", exact_error(500, message))
    with pytest.raises(FunctionalError) as caught:
        _client(connection, router).create_sales_entry(DIV, {"Journal": "70"})
    assert (caught.value.message, caught.value.status) == (message, 500)


def test_a_400_is_functional_with_exacts_text(connection, router):
    message = "Error processing request stream. The property name 'X' specified for type 'Y' is not valid."
    router.add("PUT", f"/api/v1/{DIV}/crm/Accounts(guid'{CUSTOMER}')", exact_error(400, message))
    with pytest.raises(FunctionalError) as caught:
        _client(connection, router).update_account(DIV, CUSTOMER, {"X": 1})
    assert caught.value.message == message


def test_a_500_without_a_message_on_a_get_is_retryable(connection, router):
    router.add("GET", f"/api/v1/{DIV}/vat/VATCodes", httpx.Response(500, text="<html>oops</html>"))
    with pytest.raises(RetryableError) as caught:
        _client(connection, router).vat_codes(DIV)
    assert not isinstance(caught.value, AmbiguousError)


def test_a_503_on_a_write_is_ambiguous(connection, router):
    router.add("DELETE", f"/api/v1/{DIV}/salesentry/SalesEntries(guid'{ENTRY}')", exact_error(503, "busy"))
    with pytest.raises(AmbiguousError):
        _client(connection, router).delete_sales_entry(DIV, ENTRY)


def test_a_lost_post_response_raises_ambiguous_error(connection, router):
    def lost(request):
        raise httpx.ReadTimeout("no answer", request=request)

    router.add("POST", f"/api/v1/{DIV}/documents/Documents", lost)
    with pytest.raises(AmbiguousError):
        _client(connection, router).create_document(DIV, {"Subject": "Invoice 42", "Type": 10})


def test_a_timeout_on_a_get_is_retryable_not_ambiguous(connection, router):
    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    router.add("GET", f"/api/v1/{DIV}/financial/GLAccounts", slow)
    with pytest.raises(RetryableError) as caught:
        _client(connection, router).gl_accounts(DIV)
    assert not isinstance(caught.value, AmbiguousError)


def _epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def test_a_minutely_429_is_deferred_to_the_reset_exact_announced_without_waiting(connection, router):
    reset = datetime.now(UTC) + timedelta(seconds=6)  # a window of Exact's choosing, not an assumed minute
    headers = {"X-RateLimit-Minutely-Remaining": "0", "X-RateLimit-Minutely-Reset": _epoch_ms(reset)}
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", [httpx.Response(429, headers=headers), odata()])
    with pytest.raises(DeferredError) as caught:
        _client(connection, router).journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_MINUTE
    assert abs((caught.value.not_before - reset).total_seconds()) < 0.01
    assert len(router.requests) == 1  # not sent again: the work goes back to the database


def test_a_daily_429_is_deferred_to_the_daily_reset(connection, router):
    reset = datetime.now(UTC) + timedelta(hours=5)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": _epoch_ms(reset)}
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(429, headers=headers))
    with pytest.raises(DeferredError) as caught:
        _client(connection, router).journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_DAY
    assert caught.value.retry_after > 4 * 3600


def test_a_429_without_a_reset_header_is_an_ordinary_retry_not_a_guessed_minute(connection, router):
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(429))
    with pytest.raises(RetryableError) as caught:
        _client(connection, router).journals(DIV)
    assert not isinstance(caught.value, DeferredError)


def test_it_stores_the_rate_limit_headers_on_the_connection(connection, router):
    reset = datetime.now(UTC) + timedelta(seconds=40)
    headers = {
        "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4973", "X-RateLimit-Reset": _epoch_ms(reset),
        "X-RateLimit-Minutely-Limit": "60", "X-RateLimit-Minutely-Remaining": "57",
        "X-RateLimit-Minutely-Reset": _epoch_ms(reset),
    }  # fmt: skip
    router.add(
        "GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(200, json={"d": {"results": []}}, headers=headers)
    )
    _client(connection, router).journals(DIV)
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert (stored.daily_limit, stored.daily_remaining, stored.minutely_remaining) == (5000, 4973, 57)
    assert abs((stored.minutely_reset_at - reset).total_seconds()) < 0.01
    assert stored.last_success_at is not None


def test_a_spent_minute_defers_the_call_to_the_stored_reset_without_sending_it(connection, router):
    connection.minutely_remaining = 0
    connection.minutely_reset_at = timezone.now() + timedelta(seconds=20)
    connection.save()
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata())
    with pytest.raises(DeferredError) as caught:
        _client(connection, router).journals(DIV)
    assert caught.value.not_before == connection.minutely_reset_at
    assert router.requests == []


def test_two_clients_share_one_minutely_budget(connection, router):
    connection.minutely_remaining = 1
    connection.minutely_reset_at = timezone.now() + timedelta(seconds=20)
    connection.save()
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata())
    first, second = _client(connection, router), _client(ExactConnection.objects.get(pk=connection.pk), router)
    first.journals(DIV)
    with pytest.raises(DeferredError):
        second.journals(DIV)  # the first took the last call of the minute
    assert len(router.requests) == 1


def test_it_refuses_when_the_daily_budget_is_used_up(connection, router):
    connection.daily_remaining = 0
    connection.daily_reset_at = timezone.now() + timedelta(hours=3)
    connection.save()
    with pytest.raises(DeferredError) as caught:
        _client(connection, router).journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_DAY
    assert 10790 <= caught.value.retry_after <= 10800
    assert router.requests == []


@pytest.mark.parametrize(
    ("remaining", "reset_in", "fits"),
    [(3, 20, True), (2, 20, False), (0, -1, True), (None, None, True)],
    ids=["enough", "too-few", "window-over", "unknown"],
)
def test_a_booking_starts_only_when_the_known_budget_holds_all_its_calls(connection, router, remaining, reset_in, fits):
    connection.minutely_remaining = remaining
    connection.minutely_reset_at = None if reset_in is None else timezone.now() + timedelta(seconds=reset_in)
    connection.save()
    client = _client(connection, router)
    if fits:
        client.budget_fits(3)
    else:
        with pytest.raises(DeferredError) as caught:
            client.budget_fits(3)
        assert caught.value.not_before == connection.minutely_reset_at
    assert router.requests == []


def test_it_retries_once_after_a_401_with_a_refreshed_token(connection, router):
    connection.tokens_issued_at = timezone.now() - timedelta(seconds=580)
    connection.save()
    router.add("POST", "/api/oauth2/token", token_answer("a-2", "r-2"))
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", [httpx.Response(401), odata()])
    client = _client(connection, router)
    assert client.journals(DIV) == []
    auths = [r.headers.get("authorization") for r in router.requests if "Journals" in r.url.path]
    assert auths == ["Bearer stored-access", "Bearer a-2"]
    assert client.calls_made == 2


def test_a_refreshed_token_refused_too_waits_for_the_next_token_and_does_not_disconnect(connection, router):
    connection.tokens_issued_at = timezone.now() - timedelta(seconds=580)
    connection.save()
    router.add("POST", "/api/oauth2/token", token_answer("a-2", "r-2"))
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(401))
    with pytest.raises(RetryableError) as refused:
        _client(connection, router).journals(DIV)
    assert 560 <= refused.value.retry_after <= 570
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert stored.status == ExactConnection.Status.CONNECTED
    assert stored.access_token == "a-2"
    assert stored.access_expires_at <= timezone.now()  # forgotten: no other process sends it again


def test_it_downloads_an_attachment_from_our_base_url(connection, router):
    from sync.exact.entities import ExactAttachment

    router.add("GET", "/docs/SysAttachment.aspx", httpx.Response(200, content=b"%PDF-1.4"))
    attachment = ExactAttachment(
        uuid4(), uuid4(), "f.pdf", 8, "https://elsewhere.example/docs/SysAttachment.aspx?ID=1&_Division_=7"
    )
    assert _client(connection, router).download_attachment(attachment) == b"%PDF-1.4"
    assert router.requests[0].url.host == "start.exactonline.nl"
    assert _params(router.requests[0]) == {"ID": "1", "_Division_": "7", "Download": "1"}


def test_it_sends_the_attachment_base64(connection, router):
    doc = str(uuid4())
    answer = {"ID": str(uuid4()), "Document": doc, "FileName": "f.pdf", "FileSize": 3.0, "Url": "u", "Attachment": None}
    router.add("POST", f"/api/v1/{DIV}/documents/DocumentAttachments", httpx.Response(201, json={"d": answer}))
    att = _client(connection, router).create_document_attachment(
        DIV, document_id=doc, file_name="f.pdf", content=b"abc"
    )
    assert json.loads(router.requests[0].content) == {"Document": doc, "FileName": "f.pdf", "Attachment": "YWJj"}
    assert att.file_size == 3


def test_for_installation_without_a_connection_raises_auth_error(db):
    with pytest.raises(AuthError) as caught:
        ExactClient.for_installation(InstallationFactory())
    assert "connect Exact Online" in caught.value.message


def test_a_generic_500_on_a_write_is_ambiguous_not_a_refusal():
    from sync.errors import AmbiguousError
    from sync.exact.http import error_for

    response = httpx.Response(
        500, json={"error": {"code": "", "message": {"lang": "", "value": "An unexpected error occurred."}}}
    )
    assert isinstance(error_for(response, "POST"), AmbiguousError)


def test_a_business_500_keeps_exacts_message_as_a_refusal():
    from sync.errors import FunctionalError
    from sync.exact.http import error_for

    response = httpx.Response(
        500, json={"error": {"code": "", "message": {"lang": "", "value": "Ongeldig: Klant (Type)"}}}
    )
    error = error_for(response, "POST")
    assert type(error) is FunctionalError
    assert error.message == "Ongeldig: Klant (Type)"
