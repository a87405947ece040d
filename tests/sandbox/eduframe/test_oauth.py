"""The OAuth2 authorization-code flow under /login/oauth2/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

REDIRECT = "http://localhost:8000/install/eduframe/callback"
CLIENT = {"client_id": "eduexact-eduframe", "client_secret": "sandbox-secret"}


def authorize_params(scope="invoices:read relations:read"):
    return {
        "client_id": "eduexact-eduframe",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "xyz",
        "scope": scope,
    }


def approve(anonymous, scope="invoices:read relations:read", decision="approve") -> dict:
    response = anonymous.post("/login/oauth2/auth", data={**authorize_params(scope), "decision": decision})
    assert response.status_code in (302, 303)
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


@pytest.fixture
def tokens(anonymous):
    code = approve(anonymous)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **CLIENT}
    return anonymous.post("/login/oauth2/token", data=data).json()


def test_the_authorize_page_names_the_client_and_the_educator(anonymous):
    page = anonymous.get("/login/oauth2/auth", params=authorize_params()).text
    assert "Authorize EduExact for Demo Academy" in page
    assert 'value="approve"' in page


def test_approving_redirects_with_a_code_and_the_state(anonymous):
    query = approve(anonymous)
    assert query["state"] == "xyz"
    assert query["code"]


def test_denying_redirects_with_access_denied(anonymous):
    assert approve(anonymous, decision="deny") == {"error": "access_denied", "state": "xyz"}


def test_auto_approve_redirects_straight_away(state, anonymous):
    state.auto_approve = True
    response = anonymous.get("/login/oauth2/auth", params=authorize_params())
    assert response.headers["Location"].startswith(REDIRECT + "?code=")


def test_an_unknown_client_gets_an_error_and_no_redirect(anonymous):
    response = anonymous.get("/login/oauth2/auth", params={**authorize_params(), "client_id": "other"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_the_code_exchanges_for_bearer_tokens(tokens):
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 7200
    assert tokens["refresh_token"]
    assert tokens["scope"] == "invoices:read relations:read"


def test_an_issued_token_carries_only_the_requested_scopes(anonymous, tokens):
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert anonymous.get("/api/v1/invoices", headers=headers).status_code == 200
    assert anonymous.get("/api/v1/courses", headers=headers).status_code == 403


def test_a_code_works_only_once(anonymous):
    code = approve(anonymous)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **CLIENT}
    anonymous.post("/login/oauth2/token", data=data)
    response = anonymous.post("/login/oauth2/token", data=data)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_wrong_client_secret_is_invalid_client(anonymous):
    code = approve(anonymous)["code"]
    data = {"grant_type": "authorization_code", "code": code, **CLIENT, "client_secret": "wrong"}
    response = anonymous.post("/login/oauth2/token", data=data)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_client_credentials_may_come_as_http_basic(anonymous):
    code = approve(anonymous)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    response = anonymous.post("/login/oauth2/token", data=data, auth=("eduexact-eduframe", "sandbox-secret"))
    assert response.status_code == 200


def test_a_refresh_gives_a_new_access_token_and_rotates_the_refresh_token(anonymous, tokens):
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **CLIENT}
    fresh = anonymous.post("/login/oauth2/token", data=data).json()
    assert fresh["access_token"] != tokens["access_token"]
    assert anonymous.post("/login/oauth2/token", data=data).json()["error"] == "invalid_grant"


def test_an_access_token_expires_after_two_hours(anonymous, clock, tokens):
    clock.advance(7201)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert anonymous.get("/api/v1/invoices", headers=headers).status_code == 401
