"""OAuth2: consent, code exchange, the 600 s / 570 s rules, refresh-token rotation [notes section 1]."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.exact.state import ExactState

from .helpers import DIVISION, REDIRECT_URI, api_headers

REDIRECT = REDIRECT_URI
CLIENT = {"client_id": "eduexact-sandbox", "client_secret": "sandbox-secret"}


def _query(response) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def _authorize(http, **extra) -> httpx.Response:
    params = {"client_id": "eduexact-sandbox", "redirect_uri": REDIRECT, "response_type": "code", "state": "s1"}
    return http.get("/api/oauth2/auth", params={**params, **extra})


def _code(http, state) -> str:
    state.auto_approve = True
    return _query(_authorize(http))["code"]


def _exchange(http, code: str, **extra) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **CLIENT, **extra}
    return http.post("/api/oauth2/token", data=form)


def _refresh(http, refresh_token: str) -> httpx.Response:
    return http.post(
        "/api/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token, **CLIENT}
    )


def test_the_consent_page_names_the_client_and_approve_redirects_with_a_code_and_the_state(http):
    page = _authorize(http, force_login="1")
    assert page.status_code == 200
    assert "eduexact-sandbox" in page.text
    assert "Approve" in page.text
    fields = {"client_id": "eduexact-sandbox", "redirect_uri": REDIRECT, "state": "s1", "decision": "approve"}
    answer = http.post("/api/oauth2/auth", data=fields)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(REDIRECT + "?")
    assert _query(answer)["state"] == "s1"
    assert _query(answer)["code"]


def test_denying_consent_redirects_with_access_denied(http):
    fields = {"client_id": "eduexact-sandbox", "redirect_uri": REDIRECT, "state": "s1", "decision": "deny"}
    answer = http.post("/api/oauth2/auth", data=fields)
    assert _query(answer) == {"error": "access_denied", "state": "s1"}


def test_auto_approve_redirects_immediately(http, state):
    state.auto_approve = True
    assert _authorize(http).status_code == 302


def test_a_redirect_uri_that_does_not_match_the_registered_one_exactly_is_refused(http, state):
    state.register_client("strict", "secret", ["https://app.example/exact/callback"])
    params = {"client_id": "strict", "response_type": "code"}
    wrong = http.get("/api/oauth2/auth", params={**params, "redirect_uri": "https://app.example/exact/callback/"})
    right = http.get("/api/oauth2/auth", params={**params, "redirect_uri": "https://app.example/exact/callback"})
    assert wrong.status_code == 400
    assert right.status_code == 200


def test_the_built_in_client_refuses_every_redirect_uri_but_its_registered_one(http):
    for other in (
        "http://localhost:9999/exact/callback",
        "https://eduexact.example/exact/callback",
        REDIRECT + "/",
        REDIRECT + "?installation=1",
    ):
        refused = _authorize(http, redirect_uri=other)
        assert refused.status_code == 400, other
        assert "Location" not in refused.headers
    assert _authorize(http).status_code == 200


def test_the_built_in_clients_redirect_uri_is_public_url_exact_callback_or_the_configured_one(monkeypatch, http):
    monkeypatch.delenv("SANDBOX_EXACT_REDIRECT_URI", raising=False)
    monkeypatch.setenv("PUBLIC_URL", "https://eduexact.example/")
    assert ExactState().clients["eduexact-sandbox"].redirect_uris == ["https://eduexact.example/exact/callback"]
    monkeypatch.setenv("PUBLIC_URL", "")  # empty counts as unset, as in the service's settings
    assert ExactState().clients["eduexact-sandbox"].redirect_uris == ["http://localhost:8000/exact/callback"]
    monkeypatch.setenv("SANDBOX_EXACT_REDIRECT_URI", "https://other.example/cb")
    assert ExactState().clients["eduexact-sandbox"].redirect_uris == ["https://other.example/cb"]
    answer = http.post("/_sandbox/redirect-uri", json={"redirect_uri": "http://127.0.0.1:8123/exact/callback"})
    assert answer.json()["redirect_uris"] == ["http://127.0.0.1:8123/exact/callback"]
    assert _authorize(http, redirect_uri="http://127.0.0.1:8123/exact/callback").status_code == 200
    assert _authorize(http).status_code == 400


def test_a_code_exchange_returns_expires_in_as_the_string_600(http, state):
    body = _exchange(http, _code(http, state)).json()
    assert body["expires_in"] == "600"
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    assert body["refresh_token"]


def test_a_code_can_be_used_only_once(http, state):
    code = _code(http, state)
    assert _exchange(http, code).status_code == 200
    again = _exchange(http, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_code_older_than_three_minutes_is_refused(http, state):
    code = _code(http, state)
    state.clock.advance(181)
    assert _exchange(http, code).json()["error"] == "invalid_grant"


def test_a_code_exchange_with_another_redirect_uri_is_refused(http, state):
    response = _exchange(http, _code(http, state), redirect_uri="http://localhost:9999/cb")
    assert response.status_code == 400


def test_a_json_token_request_is_refused(http, state):
    form = {"grant_type": "authorization_code", "code": _code(http, state), "redirect_uri": REDIRECT, **CLIENT}
    assert http.post("/api/oauth2/token", json=form).status_code == 400


def test_an_access_token_expires_after_exactly_600_seconds(server, state, tokens):
    me = f"{server.url}/api/v1/current/Me"
    state.clock.advance(599)
    assert httpx.get(me, headers=api_headers(tokens["access_token"])).status_code == 200
    state.clock.advance(1)
    assert httpx.get(me, headers=api_headers(tokens["access_token"])).status_code == 401


def test_a_refresh_within_570_seconds_is_refused(http, state, tokens):
    state.clock.advance(569)
    response = _refresh(http, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    assert response.headers["Reason"].startswith("TooEarlyToRefreshTokens")


def test_a_refresh_after_570_seconds_rotates_both_tokens(http, state, tokens):
    state.clock.advance(570)
    fresh = _refresh(http, tokens["refresh_token"]).json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]


def test_reusing_an_old_refresh_token_kills_the_whole_grant(http, state, tokens):
    state.clock.advance(580)
    newest = _refresh(http, tokens["refresh_token"]).json()["refresh_token"]
    reused = _refresh(http, tokens["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    state.clock.advance(600)
    assert _refresh(http, newest).status_code == 401  # reconnect needed


def test_concurrent_refreshes_let_one_win_and_refuse_the_other_as_an_old_token_by_default(http, state, tokens):
    state.clock.advance(580)
    first, second = _refresh(http, tokens["refresh_token"]), _refresh(http, tokens["refresh_token"])
    assert first.status_code == 200
    assert (second.status_code, second.json()["error_description"]) == (401, "Old refresh token used.")


def test_a_switch_refuses_the_concurrent_refresh_as_too_early_and_keeps_the_grant_alive(http, state, tokens):
    http.post("/_sandbox/config", json={"concurrent_refresh_refusal": "too_early"})
    state.clock.advance(580)
    winner = _refresh(http, tokens["refresh_token"]).json()
    loser = _refresh(http, tokens["refresh_token"])
    assert loser.status_code == 400
    assert loser.headers["Reason"].startswith("TooEarlyToRefreshTokens")
    state.clock.advance(580)
    assert _refresh(http, winner["refresh_token"]).status_code == 200


def test_an_unused_refresh_token_expires_after_30_days(http, state, tokens):
    state.clock.advance(30 * 86400)
    response = _refresh(http, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "The refresh token expired at" in response.json()["error_description"]


def test_the_token_endpoint_refuses_more_than_200_calls_per_day(http, state):
    state.tokens.daily_cap = 3
    codes = [_code(http, state) for _ in range(4)]
    statuses = [_exchange(http, code).status_code for code in codes]
    assert statuses == [200, 200, 200, 429]


def test_a_token_response_lost_in_a_dropped_connection_still_rotated_the_refresh_token(http, state, tokens):
    state.clock.advance(580)
    state.inject_fault("oauth2/token", "commit_then_drop")
    with pytest.raises(httpx.RemoteProtocolError):
        _refresh(http, tokens["refresh_token"])
    assert _refresh(http, tokens["refresh_token"]).json()["error_description"] == "Old refresh token used."


def test_me_works_without_a_division_and_is_not_rate_limited(server, state, tokens):
    state.limits.minutely_limit = 1
    for _ in range(3):
        response = httpx.get(f"{server.url}/api/v1/current/Me", headers=api_headers(tokens["access_token"]))
        assert response.status_code == 200
    me = response.json()["d"]["results"][0]
    assert me["CurrentDivision"] == DIVISION
    assert me["FullName"] == "Demo Accountant"
    assert me["__metadata"]["type"] == "Exact.Web.Api.Models.System.Me"
    assert "X-RateLimit-Limit" not in response.headers


def test_divisions_lists_the_divisions_the_user_can_reach_with_select(api, state):
    state.seed_division(7654321, "Second B.V.")
    state.seed_division(1111111, "Foreign B.V.")
    state.default_user().divisions.remove(1111111)
    rows = api.get("system/Divisions", params={"$select": "Code,Description"}).json()["d"]["results"]
    assert sorted(row["Code"] for row in rows) == [DIVISION, 7654321]
    assert set(rows[0]) == {"__metadata", "Code", "Description"}


def test_hrm_divisions_lists_the_same_divisions_as_ossobv_asks_for_them(api, state):
    state.seed_division(7654321, "Second B.V.")
    rows = api.get("hrm/Divisions", params={"$select": "Code,Description"}).json()["d"]["results"]
    assert {row["Code"]: row["Description"] for row in rows} == {DIVISION: "Demo Academy B.V.", 7654321: "Second B.V."}


def test_all_divisions_lists_the_licences_divisions_including_those_the_user_cannot_reach(api, state):
    state.seed_division(1111111, "Foreign B.V.")
    state.default_user().divisions.remove(1111111)
    state.seed_division(2222222, "Other licence B.V.", licence="other")
    rows = api.get("system/AllDivisions", params={"$select": "Code,Description"}).json()["d"]["results"]
    assert sorted(row["Code"] for row in rows) == [1111111, DIVISION]
    assert rows[0]["__metadata"]["type"] == "Exact.Web.Api.Models.System.AllDivision"


def test_a_division_the_user_cannot_access_is_refused_with_403_wrong_division_by_default(server, state, tokens):
    state.seed_division(1111111, "Foreign B.V.")
    state.default_user().divisions.remove(1111111)
    url = f"{server.url}/api/v1/1111111/financial/Journals"
    response = httpx.get(url, headers=api_headers(tokens["access_token"]))
    assert response.status_code == 403
    assert response.json()["error"]["message"]["value"] == "Wrong Division"


def test_a_switch_makes_a_wrong_division_answer_401_instead(server, state, tokens, http):
    http.post("/_sandbox/config", json={"foreign_division_status": 401})
    url = f"{server.url}/api/v1/9999999/financial/Journals"
    response = httpx.get(url, headers=api_headers(tokens["access_token"]))
    assert response.status_code == 401
    assert response.json()["error"]["message"]["value"] == "Wrong Division"


def test_an_api_call_without_a_token_is_unauthorised(server):
    assert httpx.get(f"{server.url}/api/v1/{DIVISION}/financial/Journals").status_code == 401


def test_a_refresh_within_570_seconds_of_the_last_refresh_is_refused(http, state, tokens):
    state.clock.advance(570)
    fresh = _refresh(http, tokens["refresh_token"]).json()
    state.clock.advance(569)
    too_early = _refresh(http, fresh["refresh_token"])
    assert too_early.status_code == 400
    assert too_early.json()["error_description"] == "Rate limit exceeded: access_token not expired"
    state.clock.advance(1)
    assert _refresh(http, fresh["refresh_token"]).status_code == 200


def test_the_token_endpoint_accepts_a_form_encoded_code_exchange(http, state):
    response = _exchange(http, _code(http, state))
    assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert response.status_code == 200


def _on(host: str, token: str) -> dict:
    return {**api_headers(token), "Host": host}


def test_a_token_works_only_on_the_country_host_that_issued_it(server, state, tokens):
    url = f"{server.url}/api/v1/{DIVISION}/financial/Journals"
    assert httpx.get(url, headers=_on("start.exactonline.nl", tokens["access_token"])).status_code == 200
    assert httpx.get(url, headers=_on("start.exactonline.be", tokens["access_token"])).status_code == 401
    me = f"{server.url}/api/v1/current/Me"
    assert httpx.get(me, headers=_on("start.exactonline.de", tokens["access_token"])).status_code == 401


def test_a_division_lives_on_its_countrys_host_only(server, state):
    state.seed_division(2222222, "Brussel B.V.", country="BE")
    user_id = state.default_user().user_id
    belgian, dutch = state.issue_tokens_for(user_id, country="BE"), state.issue_tokens_for(user_id, country="NL")
    url = f"{server.url}/api/v1/2222222/financial/Journals"
    assert httpx.get(url, headers=_on("start.exactonline.be", belgian["access_token"])).status_code == 200
    assert httpx.get(url, headers=_on("start.exactonline.nl", dutch["access_token"])).status_code == 403
    listed = httpx.get(
        f"{server.url}/api/v1/2222222/system/Divisions", headers=_on("start.exactonline.be", belgian["access_token"])
    )
    assert [(row["Code"], row["Country"]) for row in listed.json()["d"]["results"]] == [(2222222, "BE")]


def test_a_code_and_a_refresh_token_are_refused_on_another_countrys_host(http, state, tokens):
    code = _code(http, state)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **CLIENT}
    assert http.post("/api/oauth2/token", data=form, headers={"Host": "start.exactonline.fr"}).status_code == 400
    assert http.post("/api/oauth2/token", data=form, headers={"Host": "start.exactonline.nl"}).status_code == 200
    state.clock.advance(580)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **CLIENT}
    wrong = http.post("/api/oauth2/token", data=refresh, headers={"Host": "start.exactonline.co.uk"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
