"""The Eduframe client against the Eduframe simulator over real HTTP (demo data), with no database."""

from __future__ import annotations

import pytest

from sandbox.demo_data import load_eduframe_demo
from sync.eduframe.access import EduframeAccess
from sync.eduframe.client import EduframeClient
from sync.errors import AuthError, FunctionalError, RetryableError


def _client(token: str) -> EduframeClient:
    return EduframeClient(EduframeAccess.for_token(token))


@pytest.fixture
def eduframe(eduframe_sandbox):
    state = eduframe_sandbox.state
    load_eduframe_demo(state)
    client = _client("demo-token")
    yield state, client
    client.close()


def test_it_reads_the_current_educator(eduframe):
    state, client = eduframe
    assert client.current_educator().slug == state.educator["slug"]


def test_it_pages_through_every_invoice_of_a_status(eduframe):
    state, client = eduframe
    expected = sorted(i["id"] for i in state.tables["invoices"].values() if i["status"] == "open")
    invoices = list(client.iter_invoices(statuses=["open"]))
    assert sorted(i.id for i in invoices) == expected
    assert all(i.status == "open" for i in invoices)
    assert client.calls_made == len(expected) // 100 + 1


def test_it_reads_an_invoice_its_pdf_and_its_account(eduframe):
    _, client = eduframe
    invoice = next(client.iter_invoices(statuses=["paid"]))
    assert client.get_invoice(invoice.id).total_incl == invoice.total_incl
    assert client.invoice_pdf(invoice.id).startswith(b"%PDF")
    account = client.get_account(invoice.account_id)
    assert account.name
    assert client.reference.vat_number_slug() == "btw-nummer"


def test_it_finds_the_vat_number_of_accounts_that_have_one(eduframe):
    state, client = eduframe
    row = next(a for a in state.tables["accounts"].values() if a["custom"].get("btw-nummer"))
    assert client.reference.vat_number_of(client.get_account(row["id"])) == row["custom"]["btw-nummer"].strip()


def test_it_resolves_the_course_and_edition_of_an_item(eduframe):
    state, client = eduframe
    invoice = next(i for i in client.iter_invoices() if any(item.catalog_variant_id for item in i.items))
    item = next(item for item in invoice.items if item.catalog_variant_id)
    course_id, edition_id = client.reference.item_course(item)
    edition = state.tables["planned_courses"][edition_id]
    assert edition["course_id"] == course_id
    assert client.reference.get_course(course_id).name
    assert edition_id in [p.id for p in client.reference.planned_courses_of(course_id)]


def test_it_lists_courses_page_by_page(eduframe):
    _, client = eduframe
    first, cursor = client.reference.courses_page(per_page=2)
    second, _ = client.reference.courses_page(per_page=2, cursor=cursor)
    assert len(first) == 2
    assert {c.id for c in first}.isdisjoint({c.id for c in second})


def test_it_maps_the_vat_rates(eduframe):
    _, client = eduframe
    assert sorted(v.percentage for v in client.reference.invoice_vats()) == [0, 9, 21]


def test_it_registers_lists_and_removes_a_webhook(eduframe):
    _, client = eduframe
    hook = client.create_webhook(url="https://eduexact.example/webhooks/eduframe/1/s", events=["invoice.created"])
    assert hook.id in [h.id for h in client.list_webhooks()]
    client.delete_webhook(hook.id)
    assert hook.id not in [h.id for h in client.list_webhooks()]


def test_it_reports_the_missing_scopes_of_a_narrow_token(eduframe):
    state, _ = eduframe
    state.add_token("narrow", ["invoices:read", "courses:read"])
    client = _client("narrow")
    assert client.missing_scopes() == ["relations:read", "settings:read", "settings:modify"]
    client.close()


def test_a_full_token_misses_no_scope(eduframe):
    _, client = eduframe
    assert client.missing_scopes() == []


def test_an_unknown_token_is_an_auth_error(eduframe):
    client = _client("nope")
    with pytest.raises(AuthError):
        client.current_educator()
    client.close()


def test_a_429_is_retryable_after_retry_after(eduframe):
    state, client = eduframe
    state.inject_fault("GET /invoice_vats", "429", seconds=7)
    with pytest.raises(RetryableError) as caught:
        client.reference.invoice_vats()
    assert caught.value.retry_after == 7


def test_a_link_without_the_api_prefix_is_refused_rather_than_guessed(eduframe):
    state, client = eduframe
    state.inject_fault("GET /invoices", "bad_link")
    with pytest.raises(FunctionalError):
        list(client.iter_invoices())
