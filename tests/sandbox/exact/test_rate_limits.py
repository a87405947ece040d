"""Rate limits per (app, division) and the error limiter [C S1, notes 4, section 9 items 26-30]."""

from __future__ import annotations

from .conftest import FROZEN

NEXT_MINUTE_MS = str(int(FROZEN.replace(second=0).timestamp() * 1000) + 60_000)
NEXT_MIDNIGHT_MS = str(int(FROZEN.replace(hour=0, minute=0, second=0).timestamp() * 1000) + 86_400_000)


def test_every_division_response_carries_the_rate_limit_headers_with_epoch_ms_resets(api):
    response = api.get("financial/Journals")
    assert response.headers["X-RateLimit-Limit"] == "5000"
    assert response.headers["X-RateLimit-Remaining"] == "4999"
    assert response.headers["X-RateLimit-Reset"] == NEXT_MIDNIGHT_MS
    assert response.headers["X-RateLimit-Minutely-Limit"] == "60"
    assert response.headers["X-RateLimit-Minutely-Remaining"] == "59"
    assert response.headers["X-RateLimit-Minutely-Reset"] == NEXT_MINUTE_MS


def test_the_61st_call_in_a_clock_minute_gets_an_empty_429_with_only_the_minutely_headers(api, state):
    for _ in range(60):
        assert api.get("financial/Journals").status_code == 200
    refused = api.get("financial/Journals")
    assert (refused.status_code, refused.content) == (429, b"")
    assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert "X-RateLimit-Limit" not in refused.headers
    state.clock.advance(30)  # 10:01:00: a new clock minute
    assert api.get("financial/Journals").status_code == 200


def test_the_daily_limit_gives_429_with_only_the_daily_headers(api, state):
    state.limits.daily_limit = 2
    api.get("financial/Journals")
    api.get("financial/Journals")
    refused = api.get("financial/Journals")
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Minutely-Limit" not in refused.headers


def test_budget_used_by_another_process_counts_against_the_division(api, state):
    state.consume_budget(1234567, 4990)
    assert api.get("financial/Journals").headers["X-RateLimit-Remaining"] == "9"


def test_more_than_10_errors_in_an_hour_block_the_endpoint_for_an_hour(api, state):
    for _ in range(11):
        assert api.get("financial/Journals", params={"$skip": "1"}).status_code == 400
    blocked = api.get("financial/Journals")
    assert blocked.status_code == 429
    assert "error limit" in blocked.json()["error"]["message"]["value"]
    assert api.get("financial/GLAccounts").status_code == 200  # other endpoints are not blocked
    state.clock.advance(3601)
    api.headers["Authorization"] = f"Bearer {state.issue_tokens_for(state.default_user().user_id)['access_token']}"
    assert api.get("financial/Journals").status_code == 200


def test_rate_limits_can_be_switched_off(api, state):
    state.rate_limits_enabled = False
    state.limits.minutely_limit = 1
    assert [api.get("financial/Journals").status_code for _ in range(3)] == [200, 200, 200]


def test_the_minute_limit_of_one_division_leaves_another_division_alone(api, state, server):
    state.seed_division(7654321, "Second B.V.")
    state.limits.minutely_limit = 2
    api.get("financial/Journals")
    api.get("financial/Journals")
    assert api.get("financial/Journals").status_code == 429
    other = api.get(f"{server.url}/api/v1/7654321/financial/Journals")
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Minutely-Remaining"] == "1"


def test_a_shortened_window_is_announced_in_the_minutely_reset_and_resets_the_count(api, state):
    state.limits.window_seconds, state.limits.minutely_limit = 6, 2
    first = api.get("financial/Journals")
    reset_ms = int(first.headers["X-RateLimit-Minutely-Reset"])
    now_ms = int(state.clock.now().timestamp() * 1000)
    assert 0 < reset_ms - now_ms <= 6000
    assert reset_ms % 6000 == 0
    assert first.headers["X-RateLimit-Minutely-Limit"] == "2"
    assert api.get("financial/Journals").status_code == 200
    refused = api.get("financial/Journals")
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Minutely-Reset"] == str(reset_ms)
    state.clock.advance((reset_ms - now_ms) / 1000)
    assert api.get("financial/Journals").status_code == 200
