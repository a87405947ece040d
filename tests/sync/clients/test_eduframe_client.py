"""The Eduframe client over a fake transport: paging, errors, scopes, VAT number, course resolution."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from plugin.models import Installation
from sync.eduframe.client import EduframeClient
from sync.eduframe.entities import InvoiceItem, Webhook
from sync.errors import AmbiguousError, AuthError, FunctionalError, RetryableError
from tests.sync.clients.conftest import EDUFRAME_BASE as BASE
from tests.sync.clients.conftest import EDUFRAME_INVOICE as INVOICE
from tests.sync.clients.conftest import eduframe_error as _error


def _client(installation, router) -> EduframeClient:
    return EduframeClient(installation, transport=router.transport)


def test_it_parses_an_invoice_with_its_items(installation, router):
    router.add("GET", "/api/v1/invoices/48213", httpx.Response(200, json=INVOICE))
    invoice = _client(installation, router).get_invoice(48213)
    assert invoice.total_incl == Decimal("1579.05")
    assert invoice.opened_at.isoformat() == "2025-06-15"
    assert invoice.items[0].unit_price == Decimal("595.00")
    assert router.requests[0].headers["authorization"] == "Bearer api-token"


def test_it_returns_none_for_a_deleted_invoice(installation, router):
    assert _client(installation, router).get_invoice(1) is None


def test_it_follows_next_links(installation, router):
    next_url = f"{BASE}/api/v1/invoices?status=open&cursor=abc&per_page=100"
    first = httpx.Response(200, json=[INVOICE], headers={"Link": f'<{next_url}>; rel="next"'})
    router.add("GET", "/api/v1/invoices", [first, httpx.Response(200, json=[{**INVOICE, "id": 2}])])
    client = _client(installation, router)
    assert [i.id for i in client.iter_invoices(statuses=["open"])] == [48213, 2]
    assert router.requests[0].url.params["per_page"] == "100"
    assert str(router.requests[1].url) == next_url
    assert client.calls_made == 2


def test_it_decodes_the_pdf(installation, router):
    data = base64.b64encode(b"%PDF-1.4 hello").decode()
    router.add("GET", "/api/v1/invoices/7/pdf", httpx.Response(200, json={"data": data}))
    assert _client(installation, router).invoice_pdf(7) == b"%PDF-1.4 hello"


def test_a_401_is_an_auth_error_recorded_on_the_installation(installation, router):
    router.add("GET", "/api/v1/invoices/7", _error(401, "Invalid access token"))
    with pytest.raises(AuthError) as caught:
        _client(installation, router).get_invoice(7)
    assert "Eduframe refused the API token" in caught.value.message
    assert Installation.objects.get(pk=installation.pk).eduframe_auth_error == caught.value.message


def test_a_401_for_an_oauth_installation_asks_to_allow_access_again_not_for_a_token(installation, router):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.save()
    router.add("GET", "/api/v1/invoices/7", _error(401, "Invalid access token"))
    with pytest.raises(AuthError) as caught:
        _client(installation, router).get_invoice(7)
    assert "open the plugin from Eduframe" in caught.value.message
    assert "token" not in caught.value.message


def test_a_403_names_the_missing_scope(installation, router):
    router.add("GET", "/api/v1/accounts/5", _error(403))
    with pytest.raises(FunctionalError) as caught:
        _client(installation, router).get_account(5)
    assert "relations:read" in caught.value.message


def test_a_429_is_retryable_after_retry_after(installation, router):
    router.add("GET", "/api/v1/invoice_vats", _error(429, "Too many requests", **{"Retry-After": "17"}))
    with pytest.raises(RetryableError) as caught:
        _client(installation, router).invoice_vats()
    assert caught.value.retry_after == 17


def test_a_500_is_retryable(installation, router):
    router.add("GET", "/api/v1/invoices/7", _error(500, "Internal"))
    with pytest.raises(RetryableError):
        _client(installation, router).get_invoice(7)


def test_a_lost_webhook_creation_is_ambiguous(installation, router):
    def lost(request):
        raise httpx.ReadTimeout("late", request=request)

    router.add("POST", "/api/v1/webhooks", lost)
    with pytest.raises(AmbiguousError):
        _client(installation, router).create_webhook(url="https://x/hook", events=["invoice.created"])


def _questions(*rows):
    return httpx.Response(200, json=list(rows))


def test_it_finds_the_vat_number_by_system_name_not_by_slug(installation, router):
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
    client = _client(installation, router)
    account = client.get_account(3307)
    assert client.vat_number_of(account) == "NL1B01"


def test_it_falls_back_to_the_vat_number_field_type(installation, router):
    q = {"id": 2, "slug": "tax-id", "field_type": "vat_number", "for_type": "account", "system_name": None}
    router.add("GET", "/api/v1/signup_questions", _questions(q))
    client = _client(installation, router)
    assert client.vat_number_slug() == "tax-id"
    assert client.vat_number_slug() == "tax-id"
    assert client.calls_made == 1


def test_it_resolves_an_items_course_through_its_variant_and_caches_it(installation, router):
    variant = {"id": 5120, "product_id": 901, "name": "PM", "variantable_type": "PlannedCourse", "variantable_id": 4410}
    router.add("GET", "/api/v1/catalog/variants/5120", httpx.Response(200, json=variant))
    router.add(
        "GET",
        "/api/v1/planned_courses/4410",
        httpx.Response(200, json={"id": 4410, "course_id": 812, "start_date": "2025-09-15"}),
    )
    client = _client(installation, router)
    item = InvoiceItem(1, "PM", Decimal(1), Decimal(1), 3, 5120)
    assert client.item_course(item) == (812, 4410)
    assert client.item_course(item) == (812, 4410)
    assert client.calls_made == 2


def test_a_free_text_item_has_no_course(installation, router):
    assert _client(installation, router).item_course(InvoiceItem(1, "x", Decimal(1), Decimal(1), 3, None)) == (
        None,
        None,
    )


def test_it_names_a_planned_course_by_its_dates(installation, router):
    row = {"id": 4410, "course_id": 812, "start_date": "2025-09-15", "end_date": "2025-09-29", "status": "planned"}
    router.add("GET", "/api/v1/planned_courses/4410", httpx.Response(200, json=row))
    assert _client(installation, router).get_planned_course(4410).name == "15 Sep 2025 – 29 Sep 2025"


def test_it_returns_the_next_courses_cursor(installation, router):
    link = f'<{BASE}/api/v1/courses?search=pm&cursor=eyJpZCI6MjV9&per_page=25>; rel="next"'
    router.add(
        "GET",
        "/api/v1/courses",
        httpx.Response(200, json=[{"id": 1, "name": "PM", "code": "PMB"}], headers={"Link": link}),
    )
    courses, cursor = _client(installation, router).courses_page(search="pm")
    assert (courses[0].code, cursor) == ("PMB", "eyJpZCI6MjV9")
    assert router.requests[0].url.params["search"] == "pm"


def test_it_reports_the_scopes_that_answer_403(installation, router):
    router.add("GET", "/api/v1/invoices", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/accounts", _error(403))
    router.add("GET", "/api/v1/courses", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/catalog/variants", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/invoice_vats", httpx.Response(200, json=[]))
    router.add("GET", "/api/v1/webhooks", _error(403))
    assert _client(installation, router).missing_scopes() == ["relations:read", "settings:modify"]


def test_it_refreshes_an_expiring_oauth_token_first(installation, router):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.eduframe_refresh_token = "ef-refresh"
    installation.eduframe_token_expires_at = timezone.now() + timedelta(seconds=10)
    installation.save()
    token = {"access_token": "ef-new", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "ef-refresh-2"}
    router.add("POST", "/login/oauth2/token", httpx.Response(200, json=token))
    router.add(
        "GET", "/api/v1/educators/current", httpx.Response(200, json={"id": 1, "slug": "demo-academy", "name": "Demo"})
    )
    educator = _client(installation, router).current_educator()
    assert educator.slug == "demo-academy"
    assert router.requests[-1].headers["authorization"] == "Bearer ef-new"
    stored = Installation.objects.get(pk=installation.pk)
    assert (stored.eduframe_access_token, stored.eduframe_refresh_token) == ("ef-new", "ef-refresh-2")


def test_a_refused_eduframe_refresh_is_recorded(installation, router):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.eduframe_refresh_token = "ef-refresh"
    installation.eduframe_token_expires_at = timezone.now() - timedelta(seconds=10)
    installation.save()
    router.add("POST", "/login/oauth2/token", httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(AuthError):
        _client(installation, router).current_educator()
    assert Installation.objects.get(pk=installation.pk).eduframe_auth_error


def _oauth_installation(installation, *, expires_in: int = 3600):
    installation.eduframe_auth = Installation.EduframeAuth.OAUTH
    installation.eduframe_access_token = "ef-old"
    installation.eduframe_refresh_token = "ef-refresh"
    installation.eduframe_token_expires_at = timezone.now() + timedelta(seconds=expires_in)
    installation.save()
    return installation


def _current_educator(request: httpx.Request) -> httpx.Response:
    if request.headers["authorization"] != "Bearer ef-new":
        return httpx.Response(401, json={"message": "The access token expired"})
    return httpx.Response(200, json={"id": 1, "slug": "demo-academy", "name": "Demo"})


def test_an_oauth_token_eduframe_refuses_before_its_expiry_by_our_clock_is_renewed_once(installation, router):
    _oauth_installation(installation)  # an hour left by our clock; Eduframe's clock says it expired
    token = {"access_token": "ef-new", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "ef-refresh-2"}
    router.add("POST", "/login/oauth2/token", httpx.Response(200, json=token))
    router.add("GET", "/api/v1/educators/current", _current_educator)
    assert _client(installation, router).current_educator().slug == "demo-academy"
    assert router.paths() == ["/api/v1/educators/current", "/login/oauth2/token", "/api/v1/educators/current"]
    assert b"grant_type=refresh_token" in router.requests[1].content
    stored = Installation.objects.get(pk=installation.pk)
    assert (stored.eduframe_access_token, stored.eduframe_refresh_token) == ("ef-new", "ef-refresh-2")
    assert stored.eduframe_auth_error == ""


def test_a_token_another_worker_renewed_meanwhile_is_used_without_a_second_refresh(installation, router):
    _oauth_installation(installation)
    client = _client(installation, router)  # holds the old token in memory
    Installation.objects.filter(pk=installation.pk).update(eduframe_access_token="ef-new")
    router.add("GET", "/api/v1/educators/current", _current_educator)
    assert client.current_educator().slug == "demo-academy"
    assert "/login/oauth2/token" not in router.paths()


def test_an_oauth_token_refused_again_after_renewal_is_an_auth_error(installation, router):
    _oauth_installation(installation)
    token = {"access_token": "ef-newer", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "ef-refresh-2"}
    router.add("POST", "/login/oauth2/token", httpx.Response(200, json=token))
    router.add("GET", "/api/v1/educators/current", _error(401))
    with pytest.raises(AuthError):
        _client(installation, router).current_educator()
    assert router.paths().count("/login/oauth2/token") == 1
    assert Installation.objects.get(pk=installation.pk).eduframe_auth_error


def test_a_refused_api_token_is_not_refreshed(installation, router):
    router.add("GET", "/api/v1/educators/current", _error(401))
    with pytest.raises(AuthError):
        _client(installation, router).current_educator()
    assert router.paths() == ["/api/v1/educators/current"]


def test_a_webhooks_repr_leaves_out_its_url_and_the_secret_in_it():
    url = "https://eduexact.example/webhooks/eduframe/7/s3cret-Value"
    hook = Webhook.from_api({"id": 3, "url": url, "active": True, "events": ["invoice.created"]})
    assert hook.url == url
    assert "s3cret-Value" not in repr(hook)
