"""What one booking costs this service besides the calls: database queries and HTTP clients (issue 8, CPU).

Every query is CPU in the worker (the ORM builds each statement); these ceilings are what a booking needs
today, so that a query added per booking, or a client built per booking, shows up here and not in production.
"""

from __future__ import annotations

from unittest.mock import patch

import httpx
import pytest
from django.conf import settings
from django.utils import timezone

from sync import http_common
from sync.connections.exact import exact_client_for
from sync.models import AccountLink, ExactCallDay, InvoiceRecord, SyncAttempt, TenantQueue
from sync.services.invoice_dispatch import invoice_task_finished, invoice_task_started, invoices_dispatch

# A known customer's invoice: the claim, the attempt, the reads of settings, connection, VAT mapping, overrides,
# lookups (one read names every list's stored copy, its parsed form kept by the process) and account link (read once,
# for the budget check and the account step; the budget is checked against the connection as read), whether an
# earlier attempt sent anything (one read), three Exact calls (each: its budget take; the rate-limit headers only
# when they tell more than the take), the request log before each write, the record and attempt at the end, the
# tally, the calls' day count (one UPDATE as the Exact client closes), the release (savepoints included).
BOOKING_QUERIES = 25
# The task around it: the due moment read at its start, the slot freed, the dispatcher's run that sends the
# tenant's next invoice (slots, tenants in turn, the tenant's lock, budget, line, the send, its turn).
TASK_QUERIES = BOOKING_QUERIES + 13


@pytest.fixture(autouse=True)
def one_duration_bucket(monkeypatch):
    """Every booking in the histogram's first bucket: a slow machine would put the measured booking in a bucket
    the warm-up did not make yet, and the one-off INSERT of that tally row is not a cost per booking."""
    monkeypatch.setattr("monitoring.services.booking_tally.duration_bucket", lambda seconds: "0.25")


@pytest.fixture
def empty_pool(monkeypatch):
    monkeypatch.setattr(http_common, "_pool", {})


def _known_customers_second_invoice(world):
    account = world.account()
    world.sync(world.invoice([world.item()], account=account))  # warms the lookups, makes the customer known
    return world.invoice([world.item(), world.item(name="Boek", price="25.00")], account=account)


def test_a_known_customers_invoice_is_booked_within_its_queries(world, django_assert_max_num_queries):
    invoice = _known_customers_second_invoice(world)
    world.record(invoice)  # the record exists before its booking (made by the webhook or reconciliation)
    with django_assert_max_num_queries(BOOKING_QUERIES):
        attempt = world.sync(invoice)
    assert attempt.outcome == SyncAttempt.Outcome.CREATED
    assert attempt.exact_calls == 3


# A new customer's invoice (lookups warm): the same reads, the account search and creation (two Exact calls more, each
# with its budget take), the link made once (read by the booking for its budget check, not read again) and saved with
# the account, the account index's question (is it fresh, are enough new customers waiting to read it).
NEW_CUSTOMER_QUERIES = 33


def test_a_new_customers_invoice_is_booked_within_its_queries(world, django_assert_max_num_queries):
    world.sync(world.invoice([world.item()]))  # warms the lookups
    invoice = world.invoice([world.item()], account=world.account("Zuid Groep B.V.", email="zuid@example.com"))
    world.record(invoice)
    with django_assert_max_num_queries(NEW_CUSTOMER_QUERIES):
        attempt = world.sync(invoice)
    assert attempt.outcome == SyncAttempt.Outcome.CREATED
    assert attempt.exact_calls == 5


def test_a_link_another_process_made_after_the_bookings_read_is_used_not_doubled(world, monkeypatch):
    from sync.services import invoice_sync

    account = world.account("Oost B.V.", email="oost@example.com")
    ahead = invoice_sync.account_calls_ahead

    def another_process_links_meanwhile(link, division, fields):
        AccountLink.objects.create(installation=world.installation, eduframe_account_id=account["id"])
        return ahead(link, division, fields)

    monkeypatch.setattr(invoice_sync, "account_calls_ahead", another_process_links_meanwhile)
    attempt = world.sync(world.invoice([world.item()], account=account))
    assert attempt.outcome == SyncAttempt.Outcome.CREATED
    (link,) = AccountLink.objects.filter(installation=world.installation, eduframe_account_id=account["id"])
    assert link.exact_account_id is not None


def test_the_task_around_a_booking_frees_its_slot_and_dispatches_within_its_queries(
    world, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    invoice = _known_customers_second_invoice(world)
    record = world.record(invoice)
    waiting = world.record(world.invoice([world.item()]))
    InvoiceRecord.objects.filter(pk__in=[record.pk, waiting.pk]).update(due_at=timezone.now())
    InvoiceRecord.objects.filter(pk=record.pk).update(queued_at=timezone.now())
    TenantQueue.objects.create(installation=world.installation)  # made by the tenant's first dispatch
    with django_assert_max_num_queries(TASK_QUERIES), django_capture_on_commit_callbacks() as sends:
        seen, _ = invoice_task_started(record_id=record.pk)
        world.sync(invoice)
        invoice_task_finished(record_id=record.pk, due_at_seen=seen)
        assert invoices_dispatch() == 1
    record.refresh_from_db()
    assert (record.state, record.queued_at, record.due_at) == ("booked", None, None)
    assert len(sends) == 1  # the waiting invoice's task, sent after the commit


def test_every_exact_call_of_a_booking_is_on_the_day_row_when_it_ends_also_when_it_fails(world):
    booked = world.sync(world.invoice([world.item()]))
    world.exact.inject_fault("salesentry/SalesEntries", "500", count=1)
    failed = world.sync(world.invoice([world.item()]))
    assert (booked.outcome, failed.outcome) == (SyncAttempt.Outcome.CREATED, SyncAttempt.Outcome.FAILED)
    day = ExactCallDay.objects.get(installation=world.installation)
    assert day.calls == booked.exact_calls + failed.exact_calls  # the refused call included
    assert day.calls == sum(1 for r in world.exact.request_log if r["path"].startswith("/api/v1/") and r["division"])


def test_a_booking_is_tallied_once_by_its_final_save(world):
    from monitoring.models import Tally
    from monitoring.services.booking_tally import BOOKING

    world.sync(world.invoice([world.item()]))
    world.sync(world.invoice([world.item()]))
    assert sum(Tally.objects.filter(name=BOOKING).values_list("count", flat=True)) == 2


def test_bookings_share_one_pooled_client_per_api_and_keep_its_timeout_and_headers(
    world, empty_pool, exact_sandbox, eduframe_sandbox
):
    connections_before = exact_sandbox.connections_accepted, eduframe_sandbox.connections_accepted
    with patch.object(http_common, "make_http_client", wraps=http_common.make_http_client) as built:
        for _ in range(3):
            assert world.sync(world.invoice([world.item()])).outcome == SyncAttempt.Outcome.CREATED
    assert built.call_count == 2  # one for Exact, one for Eduframe, for all three bookings
    # ... and one kept-alive connection each for the three bookings' requests (at least 5 Exact, 3 Eduframe each)
    opened = (
        exact_sandbox.connections_accepted - connections_before[0],
        eduframe_sandbox.connections_accepted - connections_before[1],
    )
    assert opened == (1, 1)
    client = exact_client_for(world.installation)
    client.close()  # a booking's close leaves the pooled client open for the next one
    assert client.http is http_common.shared_http_client(client.base_url, timeout_seconds=settings.HTTP_TIMEOUT_SECONDS)
    assert not client.http.is_closed
    assert client.http.timeout == httpx.Timeout(
        settings.HTTP_TIMEOUT_SECONDS, connect=http_common.CONNECT_TIMEOUT_SECONDS
    )
    assert client.http.headers["User-Agent"] == http_common.USER_AGENT
    assert client.http.headers["Accept"] == "application/json"
    assert "Authorization" not in client.http.headers  # the token goes with each request, never on the client


def test_a_shared_client_keeps_no_cookie_one_tenants_answer_set():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"Set-Cookie": "session=tenant-a; Path=/"}, json={}, request=request)

    client = http_common.make_http_client(
        "https://api.example", timeout_seconds=5, transport=httpx.MockTransport(answer)
    )
    client.request("GET", "/first")
    client.request("GET", "/second")
    assert [str(request.url) for request in seen] == ["https://api.example/first", "https://api.example/second"]
    assert "cookie" not in seen[1].headers
