"""Bearer authentication and scopes on /api/v1."""

from __future__ import annotations


def test_a_request_without_a_token_gets_401_with_an_error_body(anonymous):
    response = anonymous.get("/api/v1/invoices")
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized", "errors": {}}


def test_an_unknown_token_gets_401(anonymous):
    response = anonymous.get("/api/v1/invoices", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_a_token_without_the_endpoints_scope_gets_403(state, anonymous):
    state.add_token("reader", ["relations:read"])
    response = anonymous.get("/api/v1/invoices", headers={"Authorization": "Bearer reader"})
    assert response.status_code == 403
    assert response.json()["errors"] == {"scope": ["invoices:read is required"]}


def test_a_token_with_the_endpoints_scope_is_let_through(state, anonymous):
    state.add_token("reader", ["relations:read"])
    response = anonymous.get("/api/v1/accounts", headers={"Authorization": "Bearer reader"})
    assert response.status_code == 200


def test_the_default_demo_token_carries_every_scope(api):
    for path in ("/invoices", "/accounts", "/courses", "/catalog/variants", "/orders", "/invoice_vats", "/webhooks"):
        assert api.get(path).status_code == 200, path


def test_catalog_endpoints_accept_the_courses_read_scope(state, anonymous):
    state.add_token("courses", ["courses:read"])
    response = anonymous.get("/api/v1/catalog/products", headers={"Authorization": "Bearer courses"})
    assert response.status_code == 200


def test_writing_webhooks_needs_settings_modify(state, anonymous):
    state.add_token("settings", ["settings:read"])
    body = {"url": "http://127.0.0.1:1/x", "events": ["invoice.created"]}
    response = anonymous.post("/api/v1/webhooks", json=body, headers={"Authorization": "Bearer settings"})
    assert response.status_code == 403


def test_the_current_educator_needs_a_token_but_no_scope(state, anonymous):
    state.add_token("bare", [])
    response = anonymous.get("/api/v1/educators/current", headers={"Authorization": "Bearer bare"})
    assert response.json()["slug"] == "demo-academy"


def test_an_auth_failure_can_be_configured_to_answer_404(state, anonymous):
    state.auth_failure_status = 404
    assert anonymous.get("/api/v1/invoices").status_code == 404


def test_a_token_with_an_expiry_stops_working_once_the_clock_passes_it(state, clock, anonymous):
    state.add_token("short", ["invoices:read"], expires_in=60)
    clock.advance(61)
    response = anonymous.get("/api/v1/invoices", headers={"Authorization": "Bearer short"})
    assert response.status_code == 401


def test_an_unknown_path_is_a_404_with_the_error_body(api):
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "errors"}


def test_every_api_response_is_json(api):
    assert api.get("/invoices").headers["Content-Type"] == "application/json"
    assert api.get("/nothing-here").headers["Content-Type"] == "application/json"


def test_the_current_educator_gives_the_tenant_slug_currency_and_country(api):
    body = api.get("/educators/current").json()
    assert (body["slug"], body["currency"]) == ("demo-academy", "EUR")
    assert {"id", "name", "country", "time_zone", "locale"} <= set(body)
