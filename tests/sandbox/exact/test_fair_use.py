"""The fair-use cap per Exact contract and the Premium licence [C S1, notes 4.1, section 9 item 26]."""

from __future__ import annotations

import httpx

from .conftest import FROZEN
from .helpers import DIVISION, api_headers

NEXT_MIDNIGHT_MS = str(int(FROZEN.replace(hour=0, minute=0, second=0).timestamp() * 1000) + 86_400_000)


def test_the_contracts_20000th_call_of_the_day_is_the_last_whatever_app_made_the_others(api, state, http, server):
    http.post("/_sandbox/contract-budget", json={"division": DIVISION, "calls": 19_999})
    assert api.get("financial/Journals").status_code == 200
    refused = api.get("financial/Journals")
    assert (refused.status_code, refused.content) == (429, b"")
    assert refused.headers["X-RateLimit-Limit"] == "20000"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == NEXT_MIDNIGHT_MS
    state.clock.advance(86_400)  # a new day (with a new access token: the old one lived 600 s)
    fresh = state.issue_tokens_for(state.default_user().user_id)["access_token"]
    url = f"{server.url}/api/v1/{DIVISION}/financial/Journals"
    assert httpx.get(url, headers=api_headers(fresh)).status_code == 200


def test_another_contracts_divisions_are_not_touched_by_the_cap(server, state, tokens, http):
    state.seed_division(7654321, "Other contract B.V.", licence="other")
    http.post("/_sandbox/contract-budget", json={"division": DIVISION, "calls": 20_000})
    other = httpx.get(f"{server.url}/api/v1/7654321/financial/Journals", headers=api_headers(tokens["access_token"]))
    assert other.status_code == 200


def test_a_premium_licence_allows_30000_calls_with_no_per_app_limit_of_5000(api, state, http):
    assert http.post("/_sandbox/config", json={"premium": True}).json()["premium"] is True
    state.consume_budget(DIVISION, 6_000)  # this app alone, past the standard 5,000
    answer = api.get("financial/Journals")
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Limit"] == "30000"
    http.post("/_sandbox/contract-budget", json={"division": DIVISION, "calls": 30_000 - 1 - 1})
    assert api.get("financial/Journals").status_code == 200  # the contract's 30,000th call today
    refused = api.get("financial/Journals")
    assert (refused.status_code, refused.headers["X-RateLimit-Limit"]) == (429, "30000")
