"""Fault injection, the request log and the control API [section 9 item 45]."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from .conftest import FROZEN
from .helpers import create_customer, entry_body, gl_id, line

ENTRIES = "salesentry/SalesEntries"


def _body(api, state) -> dict:
    return entry_body(create_customer(api)["ID"], line(gl_id(state, "8000"), 100), YourRef="EDU-9")


def test_a_drop_fault_closes_the_connection_without_a_response_and_commits_nothing(api, state):
    body = _body(api, state)
    state.inject_fault("salesentry/SalesEntries", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(ENTRIES, json=body)
    assert state.division(1234567).entries == {}


def test_commit_then_drop_commits_the_entry_but_loses_the_answer(api, state):
    body = _body(api, state)
    state.inject_fault("POST salesentry/SalesEntries", "commit_then_drop")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(ENTRIES, json=body)
    found = api.get(ENTRIES, params={"$filter": "YourRef eq 'EDU-9'"}).json()["d"]["results"]
    assert len(found) == 1


def test_commit_then_500_commits_and_answers_500(api, state):
    body = _body(api, state)
    state.inject_fault("salesentry/SalesEntries", "commit_then_500")
    assert api.post(ENTRIES, json=body).status_code == 500
    assert len(state.division(1234567).entries) == 1


def test_500_503_and_429_faults_answer_without_committing_and_run_out(api, state):
    body = _body(api, state)
    for kind in ("500", "503", "429"):
        state.inject_fault("salesentry/SalesEntries", kind)
        assert api.post(ENTRIES, json=body).status_code == int(kind)
    assert state.division(1234567).entries == {}
    assert api.post(ENTRIES, json=body).status_code == 201


def test_an_injected_429_carries_only_the_minutely_headers_showing_none_left(api, state):
    api.get("financial/Journals")
    state.inject_fault("financial/Journals", "429")
    response = api.get("financial/Journals")
    assert response.status_code == 429
    assert response.content == b""
    assert {name for name in response.headers if name.lower().startswith("x-ratelimit")} == {
        "x-ratelimit-minutely-limit",
        "x-ratelimit-minutely-remaining",
        "x-ratelimit-minutely-reset",
    }
    assert response.headers["X-RateLimit-Minutely-Remaining"] == "0"
    next_minute = FROZEN.replace(second=0) + timedelta(minutes=1)
    assert int(response.headers["X-RateLimit-Minutely-Reset"]) == int(next_minute.timestamp() * 1000)


def test_an_injected_daily_429_carries_only_the_daily_headers_and_a_bare_one_none(api, state):
    state.inject_fault("financial/Journals", "429_daily")
    daily = api.get("financial/Journals")
    assert {name for name in daily.headers if name.lower().startswith("x-ratelimit")} == {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
    assert daily.headers["X-RateLimit-Remaining"] == "0"
    state.inject_fault("financial/Journals", "429_bare")
    bare = api.get("financial/Journals")
    assert bare.status_code == 429
    assert not [name for name in bare.headers if name.lower().startswith("x-ratelimit")]


def test_a_fault_with_a_method_prefix_leaves_other_methods_alone(api, state):
    state.inject_fault("POST salesentry/SalesEntries", "500", count=2)
    assert api.get(ENTRIES).status_code == 200
    assert len(state.faults.faults) == 1


def test_the_request_log_records_every_call_and_counts_per_endpoint(api, state):
    create_customer(api)
    api.get("financial/Journals")
    api.get("financial/Journals")
    assert state.counts() == {"POST crm/Accounts": 1, "GET financial/Journals": 2}
    last = state.request_log[-1]
    assert (last["method"], last["endpoint"], last["status"], last["division"]) == (
        "GET",
        "financial/Journals",
        200,
        1234567,
    )


def test_the_control_api_seeds_issues_tokens_injects_faults_and_reports(http):
    assert http.post("/_sandbox/divisions", json={"code": 555, "name": "Via HTTP B.V."}).status_code == 201
    tokens = http.post("/_sandbox/tokens", json={}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    http.post("/_sandbox/faults", json={"endpoint": "financial/Journals", "kind": "503"})
    assert http.get("/api/v1/555/financial/Journals", headers=headers).status_code == 503
    assert http.get("/api/v1/555/financial/Journals", headers=headers).status_code == 200
    assert http.get("/_sandbox/requests").json()["counts"] == {"GET financial/Journals": 2}
    assert "555" in http.get("/_sandbox/state").json()["divisions"]
    assert http.post("/_sandbox/clock", json={"advance": 601}).status_code == 201
    assert http.get("/api/v1/555/financial/Journals", headers=headers).status_code == 401
    http.post("/_sandbox/reset", json={})
    assert http.get("/_sandbox/state").json()["divisions"] == {}


def test_the_control_api_switches_auto_approve_and_config(http, state):
    http.post("/_sandbox/auto-approve", json={"enabled": True})
    http.post("/_sandbox/config", json={"business_error_status": 400, "minutely_limit": 5})
    assert state.auto_approve is True
    assert (state.business_error_status, state.limits.minutely_limit) == (400, 5)


def test_a_fault_for_the_next_3_calls_hits_exactly_those_3_calls(api, state):
    state.inject_fault("financial/Journals", "503", count=3)
    statuses = [api.get("financial/Journals").status_code for _ in range(4)]
    assert statuses == [503, 503, 503, 200]


def test_the_control_api_clock_can_be_frozen_and_advanced_and_drives_token_expiry(http, tokens):
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    frozen = http.post("/_sandbox/clock", json={"freeze": "2025-03-14T10:00:30+00:00"}).json()
    assert frozen["now"] == "2025-03-14T10:00:30+00:00"
    assert http.post("/_sandbox/clock", json={"advance": 599}).json()["now"] == "2025-03-14T10:10:29+00:00"
    assert http.get("/api/v1/current/Me", headers=headers).status_code == 200
    http.post("/_sandbox/clock", json={"advance": 1})
    assert http.get("/api/v1/current/Me", headers=headers).status_code == 401
