"""Eduframe's rate limit is per token: after a 429 with Retry-After, no process of that installation calls Eduframe
again before the wait is over (the hostile contract run caught a duplicate webhook's task calling 26 ms later)."""

from __future__ import annotations

import httpx
import pytest

from sync.connections.eduframe import eduframe_client
from sync.errors import RetryableError
from tests.sync.clients.conftest import EDUFRAME_INVOICE as INVOICE
from tests.sync.clients.conftest import eduframe_error as _error


@pytest.fixture
def refused(installation, router):  # noqa: F811
    router.installation = installation
    router.add("GET", "/api/v1/invoices/48213", _error(429, "Too many requests", **{"Retry-After": "17"}))
    with pytest.raises(RetryableError):
        eduframe_client(installation, transport=router.transport).get_invoice(48213)
    router.routes.clear()
    router.add("GET", "/api/v1/invoices/48213", httpx.Response(200, json=INVOICE))
    return router


def test_another_client_refuses_to_call_within_retry_after(installation, refused):  # noqa: F811
    calls = len(refused.requests)
    with pytest.raises(RetryableError) as caught:
        eduframe_client(installation, transport=refused.transport).get_invoice(48213)
    assert len(refused.requests) == calls, "Eduframe was called within its Retry-After"
    assert 15 < caught.value.retry_after <= 17


def test_a_background_client_waits_out_a_short_retry_after_then_calls(installation, refused):  # noqa: F811
    slept = []
    client = eduframe_client(installation, transport=refused.transport, max_throttle_wait=30, sleep=slept.append)
    assert client.get_invoice(48213).id == INVOICE["id"]
    assert len(slept) == 1
    assert 15 < slept[0] <= 17


def test_a_longer_retry_after_than_the_task_may_wait_is_retried_later(installation, refused):  # noqa: F811
    slept = []
    client = eduframe_client(installation, transport=refused.transport, max_throttle_wait=5, sleep=slept.append)
    with pytest.raises(RetryableError):
        client.get_invoice(48213)
    assert slept == []


def test_an_unsaved_installation_is_never_throttled(installation, router):  # noqa: F811
    from plugin.models import Installation

    probe = Installation(educator_slug="probe", eduframe_access_token="api-token")
    router.add("GET", "/api/v1/invoices/48213", _error(429, "Too many requests", **{"Retry-After": "17"}))
    with pytest.raises(RetryableError):
        eduframe_client(probe, transport=router.transport).get_invoice(48213)
    installation.refresh_from_db()
    assert installation.eduframe_throttled_until is None


def test_a_background_client_is_deferred_to_the_retry_after_and_never_sleeps(installation, refused):  # noqa: F811
    from sync.eduframe.client import BACKGROUND_THROTTLE_WAIT
    from sync.errors import WAIT_EDUFRAME, DeferredError

    installation.refresh_from_db()
    client = eduframe_client(
        installation, transport=refused.transport, max_throttle_wait=BACKGROUND_THROTTLE_WAIT, sleep=pytest.fail
    )
    with pytest.raises(DeferredError) as caught:
        client.get_invoice(48213)
    assert caught.value.waiting_for == WAIT_EDUFRAME
    assert caught.value.not_before == installation.eduframe_throttled_until


def test_a_bookings_client_takes_the_stored_retry_after_from_the_installation_it_read(installation, refused):  # noqa: F811
    from plugin.models import Installation

    fresh = Installation.objects.get(pk=installation.pk)  # read with the booking's record, as a booking does
    calls = len(refused.requests)
    with pytest.raises(RetryableError) as caught:
        eduframe_client(fresh, transport=refused.transport, throttle_as_loaded=True).get_invoice(48213)
    assert len(refused.requests) == calls, "Eduframe was called within its Retry-After"
    assert 15 < caught.value.retry_after <= 17


def test_a_429_within_a_booking_holds_its_next_calls_and_every_process(installation, router, django_assert_num_queries):  # noqa: F811
    from plugin.models import Installation

    router.installation = installation
    router.add("GET", "/api/v1/invoices/48213", _error(429, "Too many requests", **{"Retry-After": "17"}))
    fresh = Installation.objects.get(pk=installation.pk)
    client = eduframe_client(fresh, transport=router.transport, throttle_as_loaded=True)
    with pytest.raises(RetryableError):
        client.get_invoice(48213)
    with django_assert_num_queries(0), pytest.raises(RetryableError):
        client.get_invoice(48213)  # refused in memory: no call, no read
    assert len(router.requests) == 1
    installation.refresh_from_db()
    assert installation.eduframe_throttled_until == fresh.eduframe_throttled_until  # stored for every process
