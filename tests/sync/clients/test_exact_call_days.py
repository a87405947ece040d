"""Each answered Exact call is counted on its division's day row: the chart and /metrics read these rows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sync.connections.exact import exact_client
from sync.connections.exact_budget import call_count
from sync.errors import RetryableError
from sync.models import ExactCallDay
from tests.factories import ExactConnectionFactory, InstallationFactory

DIV = 1234567


@pytest.fixture
def client(exact_over_http):
    _, _, client = exact_over_http
    client.sleep = lambda seconds: None
    return client


def test_calls_of_a_day_add_up_on_one_row_with_the_announced_limit(client):
    client.journals(DIV)
    client.gl_accounts(DIV)
    client.vat_codes(DIV)
    row = ExactCallDay.objects.get()
    assert (row.division, row.day, row.calls, row.rate_limited) == (DIV, timezone.localdate(), 3, 0)
    assert row.daily_limit == 5000
    assert row.installation_id == client.access.counter.connection.installation_id


def test_a_429_is_counted_as_a_call_and_as_rate_limited(client, exact_sandbox):
    exact_sandbox.state.inject_fault("financial/Journals", "429", count=5)
    with pytest.raises(RetryableError):
        client.journals(DIV)
    row = ExactCallDay.objects.get()
    assert row.rate_limited >= 1
    assert row.calls == row.rate_limited


def test_a_bookings_client_writes_its_calls_day_count_once_as_it_closes(exact_over_http, django_assert_num_queries):
    _, connection, _ = exact_over_http
    booking_client = exact_client(connection, counts_at_close=True)
    booking_client.journals(DIV)
    booking_client.gl_accounts(DIV)
    assert not ExactCallDay.objects.exists()  # kept by the client until the booking ends
    with django_assert_num_queries(4):  # the day's first: the UPDATE finds no row, the INSERT (in a savepoint) makes it
        booking_client.close()
    booking_client = exact_client(connection, counts_at_close=True)
    booking_client.vat_codes(DIV)
    with django_assert_num_queries(1):
        booking_client.close()
    booking_client.close()  # nothing left to write
    row = ExactCallDay.objects.get()
    assert (row.calls, row.rate_limited, row.daily_limit) == (3, 0, 5000)


def test_a_call_without_a_division_is_not_counted(client):
    client.me()
    assert not ExactCallDay.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_threads_counting_at_once_lose_no_call():
    """Several workers make the day's first call together: one row, every call counted."""
    import threading

    from django.db import connection as db_connection

    exact_connection = ExactConnectionFactory(installation=InstallationFactory())
    start = threading.Barrier(4)

    def count_five() -> None:
        start.wait()
        try:
            for _ in range(5):
                call_count(exact_connection, path=f"/api/v1/{DIV}/financial/Journals", status=200, daily_limit=5000)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=count_five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = ExactCallDay.objects.get()
    assert (row.calls, row.daily_limit) == (20, 5000)
