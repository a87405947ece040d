"""The Exact client, tokens and lookups against the Exact simulator over real HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plugin.models import ExactConnection
from sync.connections.exact import exact_client, exact_lookups
from sync.errors import WAIT_EXACT_MINUTE, AmbiguousError, AuthError, DeferredError, FunctionalError
from tests.factories import ExactConnectionFactory
from tests.sync.clients.conftest import age_tokens

DIV = 1234567


@pytest.fixture
def exact(exact_over_http):
    return exact_over_http


def _account(client) -> object:
    return client.create_account(DIV, {"Code": "EF42", "Name": "Acme Training BV", "Status": "C", "Country": "NL"})


def _entry_payload(customer_id, gl_id, your_ref="EF-2025-0042") -> dict:
    line = {"GLAccount": gl_id, "AmountFC": Decimal("100"), "VATCode": "2", "VATAmountFC": Decimal("21"),
            "Description": "Course fee", "CostCenter": "100"}  # fmt: skip
    return {"Journal": "70", "Customer": customer_id, "EntryDate": date(2025, 3, 14), "YourRef": your_ref,
            "Description": "Invoice 2025-0042", "SalesEntryLines": [line]}  # fmt: skip


def test_it_reads_the_user_and_their_divisions(exact):
    _, _, client = exact
    assert client.me().current_division == DIV
    assert [d.code for d in client.divisions()] == [DIV]


def test_it_reads_the_lookups_with_trimmed_codes(exact):
    _, connection, client = exact
    lookups = exact_lookups(client, installation=connection.installation, division=DIV)
    assert lookups.journal("70").type == 20
    assert lookups.gl_account("8000").vat_code == "2"
    assert lookups.vat_code("2").percentage == Decimal("0.21")
    assert {v.code for v in lookups.sales_vat_codes()} >= {"0", "1", "2", "5"}
    assert "7" not in {v.code for v in lookups.sales_vat_codes()}
    assert lookups.cost_unit("20").description == "Utrecht"


def test_it_finds_a_created_account_by_its_padded_code(exact):
    _, _, client = exact
    created = _account(client)
    assert created.code == "EF42"
    assert [a.id for a in client.find_accounts(DIV, code="EF42")] == [created.id]
    assert client.get_account(DIV, created.id).country == "NL"


def test_it_books_an_entry_with_a_pdf_and_reads_it_back(exact):
    _, _, client = exact
    customer = _account(client)
    gl = client.gl_accounts(DIV)
    gl_id = next(g.id for g in gl if g.code == "8000")
    document = client.create_document(DIV, {"Subject": "Invoice 2025-0042", "Type": 10})
    attachment = client.create_document_attachment(
        DIV, document_id=document.id, file_name="2025-0042.pdf", content=b"%PDF-1.4 test"
    )
    created = client.create_sales_entry(DIV, {**_entry_payload(customer.id, gl_id), "Document": document.id})
    entry = client.get_sales_entry(DIV, created.entry_id)
    assert (entry.entry_date, entry.your_ref, entry.document) == (date(2025, 3, 14), "EF-2025-0042", document.id)
    assert [(line.amount_fc, line.vat_amount_fc, line.vat_code) for line in entry.lines] == [
        (Decimal("100"), Decimal("21"), "2")
    ]
    assert entry.amount_fc == Decimal("121")
    assert [e.entry_id for e in client.find_sales_entries(DIV, your_ref="EF-2025-0042")] == [created.entry_id]
    assert [d.id for d in client.find_documents(DIV, subject="Invoice 2025-0042")] == [document.id]
    assert client.document_attachments(DIV, document.id)[0].id == attachment.id
    assert client.download_attachment(attachment) == b"%PDF-1.4 test"


def test_it_changes_and_removes_lines_and_entries(exact):
    _, _, client = exact
    customer = _account(client)
    gl_id = next(g.id for g in client.gl_accounts(DIV) if g.code == "8000")
    created = client.create_sales_entry(DIV, _entry_payload(customer.id, gl_id))
    added = client.create_sales_entry_line(
        DIV, {"EntryID": created.entry_id, "GLAccount": gl_id, "AmountFC": Decimal("-10"), "VATCode": "2"}
    )
    client.update_sales_entry_line(DIV, added.id, {"Description": "Discount"})
    client.update_sales_entry(DIV, created.entry_id, {"Description": "Changed"})
    entry = client.get_sales_entry(DIV, created.entry_id)
    assert entry.description == "Changed"
    assert sorted(line.amount_fc for line in entry.lines) == [Decimal("-10"), Decimal("100")]
    client.delete_sales_entry_line(DIV, added.id)
    client.delete_sales_entry(DIV, created.entry_id)
    assert client.get_sales_entry(DIV, created.entry_id) is None


def test_it_keeps_exacts_message_word_for_word(exact):
    _, _, client = exact
    customer = _account(client)
    receivables = next(g.id for g in client.gl_accounts(DIV) if g.code == "1300")
    with pytest.raises(FunctionalError) as caught:
        client.create_sales_entry(DIV, _entry_payload(customer.id, receivables))
    assert caught.value.message == "Ongeldig: Grootboekrekeningtype"


def test_a_committed_post_whose_answer_is_lost_is_ambiguous(exact):
    state, _, client = exact
    customer = _account(client)
    gl_id = next(g.id for g in client.gl_accounts(DIV) if g.code == "8000")
    state.inject_fault("POST salesentry/SalesEntries", "commit_then_drop")
    with pytest.raises(AmbiguousError):
        client.create_sales_entry(DIV, _entry_payload(customer.id, gl_id))
    assert len(client.find_sales_entries(DIV, your_ref="EF-2025-0042")) == 1


def test_it_follows_next_links_past_60_rows(exact_sandbox, db, settings):
    exact_sandbox.state.seed_division(
        7, "Big", gl_accounts=[{"Code": str(8000 + n), "Description": f"GL {n}", "Type": 110} for n in range(75)]
    )
    tokens = exact_sandbox.state.issue_tokens_for(exact_sandbox.state.default_user().user_id)
    connection = ExactConnectionFactory(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])
    with exact_client(connection) as client:
        assert len(client.gl_accounts(7)) == 75
        assert client.calls_made == 2


def test_it_refreshes_the_token_after_570_seconds(exact):
    state, connection, client = exact
    old_refresh = connection.refresh_token
    state.clock.advance(580)
    age_tokens(connection, 580)
    client.journals(DIV)
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert stored.refresh_token != old_refresh
    assert stored.status == ExactConnection.Status.CONNECTED


def test_a_lost_refresh_answer_leaves_the_connection_needing_reconnect(exact):
    state, connection, client = exact
    state.clock.advance(580)
    age_tokens(connection, 580)
    state.inject_fault("POST oauth2/token", "commit_then_drop")
    with pytest.raises(AuthError):
        client.journals(DIV)
    assert ExactConnection.objects.get(pk=connection.pk).status == ExactConnection.Status.NEEDS_RECONNECT


def test_a_minute_used_up_by_another_app_defers_to_the_reset_the_simulator_announced(exact):
    state, connection, client = exact
    state.clock.freeze()
    state.consume_budget(DIV, 60, minutely=True)
    with pytest.raises(DeferredError) as caught:
        client.journals(DIV)
    stored = ExactConnection.objects.get(pk=connection.pk)
    assert caught.value.not_before == stored.minutely_reset_at


def test_once_its_own_calls_used_up_the_minute_the_next_call_is_deferred_unsent(exact):
    state, connection, client = exact
    state.clock.freeze()
    client.journals(DIV)
    state.consume_budget(DIV, 59 - 1, minutely=True)  # with our one call: 59 used, one left
    client.journals(DIV)  # the last call of the minute: the stored budget says 0 now
    with pytest.raises(DeferredError):
        client.journals(DIV)
    assert state.counts().get("GET financial/Journals", 0) == 2


def test_an_injected_429_defers_to_the_minutely_reset_it_announces_without_a_second_call(exact):
    state, connection, client = exact
    state.clock.freeze()
    state.inject_fault("GET financial/Journals", "429")
    with pytest.raises(DeferredError) as caught:
        client.journals(DIV)
    assert caught.value.waiting_for == WAIT_EXACT_MINUTE
    assert 0 < caught.value.retry_after <= 61
    assert state.counts()["GET financial/Journals"] == 1
