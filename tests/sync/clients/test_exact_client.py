"""The Exact REST client over a fake transport: URLs, paging, errors, rate limits, payloads.

No database: the client receives in-memory tokens and budget (memory_access.py); the stored side of a
connection is tested in test_exact_connection.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
import pytest

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
from tests.sync.clients.conftest import exact_error, odata
from tests.sync.clients.memory_access import MemoryExact

DIV = 1234567
ENTRY = "c1d2e3f4-0000-4000-8000-000000000001"
CUSTOMER = "9a3e0c1d-5b7f-4c1e-8d2a-0f6b1c2d3e4f"
GL = "0b6f2c7e-1111-4a2b-8c3d-4e5f6a7b8c9d"


@pytest.fixture
def exact(settings) -> MemoryExact:
    return MemoryExact()


def _client(exact: MemoryExact, router) -> ExactClient:
    return exact.client(router.transport)


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


def test_it_names_the_configured_division_in_the_url(exact, router):
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata({"Code": "70", "Description": "Sales", "Type": 20}))
    journals = _client(exact, router).journals(DIV)
    assert journals[0].code == "70"
    assert journals[0].type == 20
    assert router.paths() == [f"/api/v1/{DIV}/financial/Journals"]


def test_it_selects_exactly_the_fields_it_needs(exact, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costcenters", odata({"Code": "100", "Description": "Utrecht"}))
    _client(exact, router).cost_centers(DIV)
    assert _params(router.requests[0]) == {"$select": "Code,Description"}


def test_it_sends_the_bearer_token_and_identifies_itself(exact, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costunits", odata())
    _client(exact, router).cost_units(DIV)
    headers = router.requests[0].headers
    assert headers["authorization"] == "Bearer stored-access"
    assert (headers["user-agent"], headers["accept"]) == ("EduExact/0.1", "application/json")


def test_it_follows_next_links(exact, router):
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
    client = _client(exact, router)
    assert [j.code for j in client.journals(DIV)] == ["70", "71"]
    assert "$skiptoken=guid'x'" in str(router.requests[1].url).replace("%27", "'")
    assert client.calls_made == 2


def test_it_gets_the_current_user_without_a_division(exact, router):
    me = {"UserID": "u-1", "FullName": "Ann", "Email": "ann@x", "CurrentDivision": 7}
    router.add("GET", "/api/v1/current/Me", odata(me))
    router.add(
        "GET", "/api/v1/7/system/Divisions", odata({"Code": 7, "Description": "Main"}, {"Code": 8, "Description": "B"})
    )
    divisions = _client(exact, router).divisions()
    assert [d.code for d in divisions] == [7, 8]


def test_it_pads_the_account_code_to_18_characters(exact, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts", odata(_account()))
    accounts = _client(exact, router).find_accounts(DIV, code="EF42")
    assert _params(router.requests[0])["$filter"] == "Code eq '              EF42'"
    assert accounts[0].code == "10042"
    assert accounts[0].country == "NL"


def test_it_doubles_quotes_in_filters(exact, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts", odata())
    _client(exact, router).find_accounts(DIV, email="o'brien@example.com")
    assert _params(router.requests[0])["$filter"] == "Email eq 'o''brien@example.com'"


def test_it_wants_an_account_criterion(exact, router):
    with pytest.raises(ValueError):
        _client(exact, router).find_accounts(DIV)


def test_it_searches_several_account_criteria_in_one_call(exact, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts", odata())
    _client(exact, router).find_accounts(DIV, code="EF1", vat_number="NL1B01", email="a@b.nl")
    assert len(router.requests) == 1
    assert _params(router.requests[0])["$filter"] == (
        "Code eq '               EF1' or VATNumber eq 'NL1B01' or Email eq 'a@b.nl'"
    )


def test_it_returns_none_for_an_unknown_account(exact, router):
    assert _client(exact, router).get_account(DIV, uuid4()) is None


def test_it_reads_an_account_by_key(exact, router):
    router.add("GET", f"/api/v1/{DIV}/crm/Accounts(guid'{CUSTOMER}')", httpx.Response(200, json={"d": _account()}))
    assert _client(exact, router).get_account(DIV, CUSTOMER).id == UUID(CUSTOMER)


def test_it_reads_a_sales_entry_with_expanded_lines(exact, router):
    path = f"/api/v1/{DIV}/salesentry/SalesEntries(guid'{ENTRY}')"
    router.add("GET", path, httpx.Response(200, json={"d": _entry({"results": [_line()]})}))
    entry = _client(exact, router).get_sales_entry(DIV, ENTRY)
    assert _params(router.requests[0])["$expand"] == "SalesEntryLines"
    assert entry.lines[0].vat_code == "2"
    assert entry.lines[0].amount_fc == Decimal("100.0")


def test_it_reads_the_entry_date_as_amsterdam_wall_clock(exact, router):
    path = f"/api/v1/{DIV}/salesentry/SalesEntries(guid'{ENTRY}')"
    router.add("GET", path, httpx.Response(200, json={"d": _entry({"results": []})}))
    entry = _client(exact, router).get_sales_entry(DIV, ENTRY)
    assert (entry.entry_date, entry.due_date) == (date(2025, 3, 14), date(2025, 4, 13))


def test_it_fetches_the_lines_when_exact_does_not_expand_them(exact, router):
    deferred = {"__deferred": {"uri": "https://start.exactonline.nl/x"}}
    router.add("GET", f"/api/v1/{DIV}/salesentry/SalesEntries", odata(_entry(deferred)))
    router.add("GET", f"/api/v1/{DIV}/salesentry/SalesEntryLines", odata(_line(), _line()))
    entries = _client(exact, router).find_sales_entries(DIV, your_ref="EDU-42")
    assert len(entries[0].lines) == 2
    assert _params(router.requests[1])["$filter"] == f"EntryID eq guid'{ENTRY}'"


def test_it_sends_decimals_with_two_decimals_and_dates_as_iso(exact, router):
    deferred = {"__deferred": {"uri": "x"}}
    router.add("POST", f"/api/v1/{DIV}/salesentry/SalesEntries", httpx.Response(201, json={"d": _entry(deferred)}))
    payload = {
        "Journal": "70", "Customer": UUID(CUSTOMER), "EntryDate": date(2025, 3, 14),
        "SalesEntryLines": [{"GLAccount": UUID(GL), "AmountFC": Decimal("100"), "VATAmountFC": Decimal("21.005")}],
    }  # fmt: skip
    entry = _client(exact, router).create_sales_entry(DIV, payload)
    raw = router.requests[0].content.decode()
    assert '"AmountFC":100.00' in raw
    assert '"VATAmountFC":21.01' in raw
    assert '"EntryDate":"2025-03-14"' in raw
    assert json.loads(raw)["Customer"] == CUSTOMER
    assert router.requests[0].headers["prefer"] == "return=representation"
    assert (entry.entry_number, entry.lines) == (25700042, ())


def test_it_keeps_exacts_message_word_for_word(exact, router):
    message = "Ongeldig: Klant (Type)\r\nOngeldige referentie: Btw-code"
    router.add("POST", f"/api/v1/{DIV}/salesentry/SalesEntries", exact_error(500, message))
    with pytest.raises(FunctionalError) as caught:
        _client(exact, router).create_sales_entry(DIV, {"Journal": "70"})
    assert (caught.value.message, caught.value.status) == (message, 500)


def test_a_400_is_functional_with_exacts_text(exact, router):
    message = "Error processing request stream. The property name 'X' specified for type 'Y' is not valid."
    router.add("PUT", f"/api/v1/{DIV}/crm/Accounts(guid'{CUSTOMER}')", exact_error(400, message))
    with pytest.raises(FunctionalError) as caught:
        _client(exact, router).update_account(DIV, CUSTOMER, {"X": 1})
    assert caught.value.message == message


def test_a_500_without_a_message_on_a_get_is_retryable(exact, router):
    router.add("GET", f"/api/v1/{DIV}/vat/VATCodes", httpx.Response(500, text="<html>oops</html>"))
    with pytest.raises(RetryableError) as caught:
        _client(exact, router).vat_codes(DIV)
    assert not isinstance(caught.value, AmbiguousError)


def test_a_503_on_a_write_is_ambiguous(exact, router):
    router.add("DELETE", f"/api/v1/{DIV}/salesentry/SalesEntries(guid'{ENTRY}')", exact_error(503, "busy"))
    with pytest.raises(AmbiguousError):
        _client(exact, router).delete_sales_entry(DIV, ENTRY)


def test_a_lost_post_response_raises_ambiguous_error(exact, router):
    def lost(request):
        raise httpx.ReadTimeout("no answer", request=request)

    router.add("POST", f"/api/v1/{DIV}/documents/Documents", lost)
    with pytest.raises(AmbiguousError):
        _client(exact, router).create_document(DIV, {"Subject": "Invoice 42", "Type": 10})


def test_a_timeout_on_a_get_is_retryable_not_ambiguous(exact, router):
    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    router.add("GET", f"/api/v1/{DIV}/financial/GLAccounts", slow)
    with pytest.raises(RetryableError) as caught:
        _client(exact, router).gl_accounts(DIV)
    assert not isinstance(caught.value, AmbiguousError)


def _epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def test_a_minutely_429_is_deferred_to_the_reset_exact_announced_without_waiting(exact, router):
    reset = datetime.now(UTC) + timedelta(seconds=6)  # a window of Exact's choosing, not an assumed minute
    headers = {"X-RateLimit-Minutely-Remaining": "0", "X-RateLimit-Minutely-Reset": _epoch_ms(reset)}
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", [httpx.Response(429, headers=headers), odata()])
    with pytest.raises(DeferredError) as caught:
        _client(exact, router).journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_MINUTE
    assert abs((caught.value.not_before - reset).total_seconds()) < 0.01
    assert len(router.requests) == 1  # not sent again: the work goes back to the database


def test_a_daily_429_is_deferred_to_the_daily_reset(exact, router):
    reset = datetime.now(UTC) + timedelta(hours=5)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": _epoch_ms(reset)}
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(429, headers=headers))
    with pytest.raises(DeferredError) as caught:
        _client(exact, router).journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_DAY
    assert caught.value.retry_after > 4 * 3600


def test_a_429_without_a_reset_header_is_an_ordinary_retry_not_a_guessed_minute(exact, router):
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(429))
    with pytest.raises(RetryableError) as caught:
        _client(exact, router).journals(DIV)
    assert not isinstance(caught.value, DeferredError)


def test_it_downloads_an_attachment_from_our_base_url(exact, router):
    from sync.exact.entities import ExactAttachment

    router.add("GET", "/docs/SysAttachment.aspx", httpx.Response(200, content=b"%PDF-1.4"))
    attachment = ExactAttachment(
        uuid4(), uuid4(), "f.pdf", 8, "https://elsewhere.example/docs/SysAttachment.aspx?ID=1&_Division_=7"
    )
    assert _client(exact, router).download_attachment(attachment) == b"%PDF-1.4"
    assert router.requests[0].url.host == "start.exactonline.nl"
    assert _params(router.requests[0]) == {"ID": "1", "_Division_": "7", "Download": "1"}


def test_it_sends_the_attachment_base64(exact, router):
    doc = str(uuid4())
    answer = {"ID": str(uuid4()), "Document": doc, "FileName": "f.pdf", "FileSize": 3.0, "Url": "u", "Attachment": None}
    router.add("POST", f"/api/v1/{DIV}/documents/DocumentAttachments", httpx.Response(201, json={"d": answer}))
    att = _client(exact, router).create_document_attachment(DIV, document_id=doc, file_name="f.pdf", content=b"abc")
    assert json.loads(router.requests[0].content) == {"Document": doc, "FileName": "f.pdf", "Attachment": "YWJj"}
    assert att.file_size == 3


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


def test_each_answered_call_is_counted_and_its_limits_handed_to_the_budget(exact, router):
    headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999"}
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", httpx.Response(200, json={"d": []}, headers=headers))
    _client(exact, router).journals(DIV)
    assert exact.budget.claims == 1
    assert exact.budget.counted == [(f"/api/v1/{DIV}/financial/Journals", 200, 5000)]
    assert (exact.budget.limits["daily_limit"], exact.budget.limits["daily_remaining"]) == (5000, 4999)
    assert exact.budget.limits["last_success_at"] is not None


def test_a_403_is_handed_to_the_token_source_as_a_refused_connection(exact, router):
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", exact_error(403, "Wrong Division"))
    with pytest.raises(AuthError) as caught:
        _client(exact, router).journals(DIV)
    assert exact.tokens.refusals == [caught.value.message]
    assert "Wrong Division" in caught.value.message


def test_a_401_takes_the_next_token_once_and_retries(exact, router):
    exact.tokens.fresh.append("next-access")
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", [exact_error(401, "Unauthorized"), odata()])
    assert _client(exact, router).journals(DIV) == []
    assert exact.tokens.rejected == ["stored-access"]
    assert [r.headers["authorization"] for r in router.requests] == ["Bearer stored-access", "Bearer next-access"]
