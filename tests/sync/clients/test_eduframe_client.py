"""The Eduframe client over a fake transport: paging, errors, scopes, VAT number, course resolution.

No database: the client gets a token that is not stored; what is stored (token refresh, recorded refusals)
is tested in test_eduframe_connection.py.
"""

from __future__ import annotations

import base64
import time
from decimal import Decimal

import httpx
import pytest

from sync.eduframe.access import EduframeAccess
from sync.eduframe.client import EduframeClient
from sync.eduframe.entities import InvoiceItem, Webhook
from sync.errors import AmbiguousError, AuthError, FunctionalError, RetryableError
from tests.sync.clients.conftest import EDUFRAME_BASE as BASE
from tests.sync.clients.conftest import EDUFRAME_INVOICE as INVOICE
from tests.sync.clients.conftest import eduframe_error as _error


@pytest.fixture
def tenant(settings) -> EduframeAccess:
    """A tenant's access with an API token and nothing stored: the client needs no database."""
    settings.EDUFRAME_BASE_URL = BASE
    return EduframeAccess.for_token("api-token")


def _client(tenant: EduframeAccess, router) -> EduframeClient:
    return EduframeClient(tenant, transport=router.transport)


def test_it_parses_an_invoice_with_its_items(tenant, router):
    router.add("GET", "/api/v1/invoices/48213", httpx.Response(200, json=INVOICE))
    invoice = _client(tenant, router).get_invoice(48213)
    assert invoice.total_incl == Decimal("1579.05")
    assert invoice.opened_at.isoformat() == "2025-06-15"
    assert invoice.items[0].unit_price == Decimal("595.00")
    assert router.requests[0].headers["authorization"] == "Bearer api-token"


def test_it_returns_none_for_a_deleted_invoice(tenant, router):
    assert _client(tenant, router).get_invoice(1) is None


def test_it_follows_next_links(tenant, router):
    next_url = f"{BASE}/api/v1/invoices?status=open&cursor=abc&per_page=100"
    first = httpx.Response(200, json=[INVOICE], headers={"Link": f'<{next_url}>; rel="next"'})
    router.add("GET", "/api/v1/invoices", [first, httpx.Response(200, json=[{**INVOICE, "id": 2}])])
    client = _client(tenant, router)
    assert [i.id for i in client.iter_invoices(statuses=["open"])] == [48213, 2]
    assert router.requests[0].url.params["per_page"] == "100"
    assert str(router.requests[1].url) == next_url
    assert client.calls_made == 2


def test_it_decodes_the_pdf(tenant, router):
    data = base64.b64encode(b"%PDF-1.4 hello").decode()
    router.add("GET", "/api/v1/invoices/7/pdf", httpx.Response(200, json={"data": data}))
    assert _client(tenant, router).invoice_pdf(7) == b"%PDF-1.4 hello"


def test_a_403_names_the_missing_scope(tenant, router):
    router.add("GET", "/api/v1/accounts/5", _error(403))
    with pytest.raises(FunctionalError) as caught:
        _client(tenant, router).get_account(5)
    assert "relations:read" in caught.value.message


def test_a_429_is_retryable_after_retry_after(tenant, router):
    router.add("GET", "/api/v1/invoice_vats", _error(429, "Too many requests", **{"Retry-After": "17"}))
    with pytest.raises(RetryableError) as caught:
        _client(tenant, router).reference.invoice_vats()
    assert caught.value.retry_after == 17


def test_a_500_is_retryable(tenant, router):
    router.add("GET", "/api/v1/invoices/7", _error(500, "Internal"))
    with pytest.raises(RetryableError):
        _client(tenant, router).get_invoice(7)


def test_a_lost_webhook_creation_is_ambiguous(tenant, router):
    def lost(request):
        raise httpx.ReadTimeout("late", request=request)

    router.add("POST", "/api/v1/webhooks", lost)
    with pytest.raises(AmbiguousError):
        _client(tenant, router).create_webhook(url="https://x/hook", events=["invoice.created"])


def _questions(*rows):
    return httpx.Response(200, json=list(rows))


def test_it_finds_the_vat_number_by_system_name_not_by_slug(tenant, router):
    router.add(
        "GET",
        "/api/v1/signup_questions",
        _questions(
            {"id": 1, "slug": "vat_number", "field_type": "string", "for_type": "account", "system_name": None},
            {
                "id": 41,
                "slug": "btw-nummer",
                "field_type": "vat_number",
                "for_type": "account",
                "system_name": "vat_number",
            },
        ),
    )
    router.add(
        "GET",
        "/api/v1/accounts/3307",
        httpx.Response(200, json={"id": 3307, "custom": {"btw-nummer": " NL1B01 ", "vat_number": "no"}}),
    )
    client = _client(tenant, router)
    account = client.get_account(3307)
    assert client.reference.vat_number_of(account) == "NL1B01"


def test_it_falls_back_to_the_vat_number_field_type(tenant, router):
    q = {"id": 2, "slug": "tax-id", "field_type": "vat_number", "for_type": "account", "system_name": None}
    router.add("GET", "/api/v1/signup_questions", _questions(q))
    client = _client(tenant, router)
    assert client.reference.vat_number_slug() == "tax-id"
    assert client.reference.vat_number_slug() == "tax-id"
    assert client.calls_made == 1


VARIANT = {"id": 5120, "product_id": 901, "name": "PM", "variantable_type": "PlannedCourse", "variantable_id": 4410}
EDITION = {"id": 4410, "course_id": 812, "start_date": "2025-09-15"}


def test_it_resolves_an_items_course_through_its_variant_and_caches_it(tenant, router):
    router.add("GET", "/api/v1/catalog/variants", httpx.Response(200, json=[VARIANT]))
    router.add("GET", "/api/v1/planned_courses", httpx.Response(200, json=[EDITION]))
    client = _client(tenant, router)
    item = InvoiceItem(1, "PM", Decimal(1), Decimal(1), 3, 5120)
    assert client.reference.item_course(item) == (812, 4410)
    assert client.reference.item_course(item) == (812, 4410)
    assert router.paths() == ["/api/v1/catalog/variants", "/api/v1/planned_courses"]
    assert router.requests[0].url.params["per_page"] == "100"


def test_a_refused_list_leaves_each_record_one_get(tenant, router):
    router.add("GET", "/api/v1/catalog/variants", _error(403))
    router.add("GET", "/api/v1/catalog/variants/5120", httpx.Response(200, json=VARIANT))
    router.add("GET", "/api/v1/catalog/variants/5121", httpx.Response(200, json={**VARIANT, "id": 5121}))
    client = _client(tenant, router)
    assert client.reference.get_catalog_variant(5120).variantable_id == 4410
    assert client.reference.get_catalog_variant(5121).variantable_id == 4410
    assert router.paths() == [
        "/api/v1/catalog/variants",
        "/api/v1/catalog/variants/5120",
        "/api/v1/catalog/variants/5121",
    ]


def test_a_listed_row_without_the_field_the_booking_needs_is_not_taken_for_the_record(tenant, router):
    bare = {key: value for key, value in VARIANT.items() if key != "variantable_id"}
    router.add("GET", "/api/v1/catalog/variants", httpx.Response(200, json=[bare]))
    router.add("GET", "/api/v1/catalog/variants/5120", httpx.Response(200, json=VARIANT))
    client = _client(tenant, router)
    assert client.reference.get_catalog_variant(5120).variantable_id == 4410
    assert router.paths() == ["/api/v1/catalog/variants", "/api/v1/catalog/variants/5120"]


class _MemoryCache:
    """A tenant's reference cache in a dict; `forget` plays its expiry."""

    def __init__(self):
        self.values: dict = {}

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value):
        self.values[key] = value

    def forget(self, key):
        self.values.pop(key, None)


def test_a_walk_older_than_the_cache_time_reads_its_list_again(tenant, router, settings, monkeypatch):
    moved = {**VARIANT, "variantable_id": 4411}
    router.add(
        "GET", "/api/v1/catalog/variants", [httpx.Response(200, json=[VARIANT]), httpx.Response(200, json=[moved])]
    )
    cache = _MemoryCache()
    shared = EduframeAccess(tokens=tenant.tokens, throttle=tenant.throttle, cache=cache)
    assert EduframeClient(shared, transport=router.transport).reference.get_catalog_variant(5120).variantable_id == 4410
    cache.forget("/catalog/variants/5120")  # the record's cache time is over
    later = time.time() + settings.EDUFRAME_REFERENCE_CACHE_SECONDS
    monkeypatch.setattr("sync.eduframe.reference.now", lambda: later)
    # The moved variant comes from the list read again, not from the finished walk's memory (nor a GET).
    assert EduframeClient(shared, transport=router.transport).reference.get_catalog_variant(5120).variantable_id == 4411
    assert router.paths() == ["/api/v1/catalog/variants"] * 2


def test_a_free_text_item_has_no_course(tenant, router):
    assert _client(tenant, router).reference.item_course(InvoiceItem(1, "x", Decimal(1), Decimal(1), 3, None)) == (
        None,
        None,
    )


def test_it_names_a_planned_course_by_its_dates(tenant, router):
    row = {"id": 4410, "course_id": 812, "start_date": "2025-09-15", "end_date": "2025-09-29", "status": "planned"}
    router.add("GET", "/api/v1/planned_courses/4410", httpx.Response(200, json=row))
    assert _client(tenant, router).reference.get_planned_course(4410).name == "2025-09-15 – 2025-09-29"


def test_it_returns_the_next_courses_cursor(tenant, router):
    link = f'<{BASE}/api/v1/courses?search=pm&cursor=eyJpZCI6MjV9&per_page=25>; rel="next"'
    router.add(
        "GET",
        "/api/v1/courses",
        httpx.Response(200, json=[{"id": 1, "name": "PM", "code": "PMB"}], headers={"Link": link}),
    )
    courses, cursor = _client(tenant, router).reference.courses_page(search="pm")
    assert (courses[0].code, cursor) == ("PMB", "eyJpZCI6MjV9")
    assert router.requests[0].url.params["search"] == "pm"


def test_it_reports_the_scopes_that_answer_403(tenant, router):
    router.add("GET", "/api/v1/invoices", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/accounts", _error(403))
    router.add("GET", "/api/v1/courses", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/catalog/variants", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/invoice_vats", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/webhooks", _error(403))
    assert _client(tenant, router).missing_scopes() == ["relations:read", "settings:modify"]


def test_a_refused_api_token_is_not_refreshed(tenant, router):
    router.add("GET", "/api/v1/educators/current", _error(401))
    with pytest.raises(AuthError):
        _client(tenant, router).current_educator()
    assert router.paths() == ["/api/v1/educators/current"]


def test_a_webhooks_repr_leaves_out_its_url_and_the_secret_in_it():
    url = "https://eduexact.example/webhooks/eduframe/7/s3cret-Value"
    hook = Webhook.from_api({"id": 3, "url": url, "active": True, "events": ["invoice.created"]})
    assert hook.url == url
    assert "s3cret-Value" not in repr(hook)


@pytest.mark.parametrize(("oauth", "words"), [(False, "with a new token"), (True, "(Click to install)")])
def test_a_token_not_stored_is_refused_with_the_words_for_its_kind(settings, router, oauth, words):
    settings.EDUFRAME_BASE_URL = BASE
    router.add("GET", "/api/v1/educators/current", _error(401))
    with pytest.raises(AuthError) as caught:
        _client(EduframeAccess.for_token("checked-token", oauth=oauth), router).current_educator()
    assert words in caught.value.message
    assert router.requests[0].headers["authorization"] == "Bearer checked-token"
