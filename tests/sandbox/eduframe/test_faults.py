"""Injected faults, the rate limit and the request log."""

from __future__ import annotations

import httpx
import pytest

from sandbox.eduframe.app import create_app
from sandbox.eduframe.clock import Clock
from sandbox.eduframe.state import EduframeState

from .helpers import START, course_line


def test_a_429_fault_answers_with_retry_after(state, api):
    state.inject_fault("/invoices", "429", seconds=7)
    response = api.get("/invoices")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
    assert response.json()["code"] == 429


@pytest.mark.parametrize("kind", ["500", "503"])
def test_a_server_error_fault_answers_with_that_status(state, api, kind):
    state.inject_fault("*", kind)
    assert api.get("/accounts").status_code == int(kind)


def test_a_fault_is_used_up_after_count_requests(state, api):
    state.inject_fault("*", "500", count=2)
    assert [api.get("/accounts").status_code for _ in range(3)] == [500, 500, 200]


def test_a_fault_only_hits_matching_method_and_path(state, world, api):
    state.inject_fault("POST /invoices/*/open", "503")
    invoice = state.add_invoice(world.account["id"], [course_line(world)])
    assert api.get(f"/invoices/{invoice['id']}").status_code == 200
    assert api.post(f"/invoices/{invoice['id']}/open").status_code == 503


def test_a_timeout_fault_answers_later_than_the_client_waits(state, api):
    state.inject_fault("/accounts", "timeout", seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/accounts", timeout=0.1)


def test_a_write_behind_a_timeout_fault_is_committed(state, world, api):
    state.inject_fault("POST /invoices/*/open", "timeout", seconds=0.3)
    invoice = state.add_invoice(world.account["id"], [course_line(world)])
    with pytest.raises(httpx.ReadTimeout):
        api.post(f"/invoices/{invoice['id']}/open", timeout=0.1)
    assert invoice["status"] == "open"


def test_a_bad_link_fault_drops_the_api_prefix_from_the_next_link(state, api, server):
    for n in range(3):
        state.add_account(f"A{n}")
    state.inject_fault("/accounts", "bad_link")
    next_url = api.get("/accounts", params={"per_page": 2}).links["next"]["url"]
    assert next_url.startswith(f"{server.url}/accounts?")
    assert httpx.get(next_url, headers=api.headers).status_code == 404


def test_an_expired_token_fault_answers_401_with_an_invalid_token_challenge(state, api):
    state.inject_fault("*", "expired_token")
    response = api.get("/accounts")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert api.get("/accounts").status_code == 200


def test_an_unknown_fault_kind_is_refused(state):
    with pytest.raises(Exception, match="Validation failed"):
        state.inject_fault("*", "teapot")


def test_requests_over_the_rate_limit_get_429_with_retry_after(state, api):
    state.rate_limit = 3
    statuses = [api.get("/accounts").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_rate_limit_retry_after_counts_down_to_the_window_end(state, clock, api):
    state.rate_limit = 1
    api.get("/accounts")
    clock.advance(100)
    assert api.get("/accounts").headers["Retry-After"] == "200"


def test_the_rate_limit_window_slides_with_the_clock(state, clock, api):
    state.rate_limit = 1
    api.get("/accounts")
    clock.advance(301)
    assert api.get("/accounts").status_code == 200


def test_the_rate_limit_is_counted_per_token(state, anonymous, api):
    state.rate_limit = 1
    state.add_token("other", ["relations:read"])
    api.get("/accounts")
    assert anonymous.get("/api/v1/accounts", headers={"Authorization": "Bearer other"}).status_code == 200


def test_no_rate_limit_when_it_is_none(state, api):
    state.rate_limit = None
    assert {api.get("/accounts").status_code for _ in range(20)} == {200}


def test_every_api_request_is_logged_with_token_and_status(state, api):
    api.get("/accounts", params={"per_page": 5})
    (entry,) = state.request_log
    assert (entry["method"], entry["path"], entry["query"]) == ("GET", "/accounts", "per_page=5")
    assert (entry["token"], entry["status"]) == ("demo-token", 200)


def test_counts_report_requests_and_invoices_per_status(state, world, api):
    state.add_invoice(world.account["id"], [course_line(world)], status="paid")
    api.get("/invoices")
    counts = state.counts()
    assert (counts["requests"], counts["invoices_by_status"]) == (1, {"paid": 1})


def test_by_default_the_501st_request_in_5_minutes_gets_429_with_retry_after(http_server):
    clock = Clock(start=START, ticking=False)
    limited = EduframeState(clock=clock)  # the default limit, not the one the fixtures switch off
    http_server.swappable.app = create_app(limited)
    try:
        with httpx.Client(base_url=f"{http_server.url}/api/v1", headers={"Authorization": "Bearer demo-token"}) as api:
            assert {api.get("/invoice_vats").status_code for _ in range(500)} == {200}
            refused = api.get("/invoice_vats")
            assert (refused.status_code, refused.headers["Retry-After"]) == (429, "300")
            assert set(refused.json()) == {"code", "message", "errors"}
            clock.advance(300)
            assert api.get("/invoice_vats").status_code == 200
    finally:
        limited.delivery.stop()
