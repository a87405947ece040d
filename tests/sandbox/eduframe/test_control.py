"""The /_sandbox/ control API used by end-to-end tests and the demo."""

from __future__ import annotations

import pytest

from .helpers import course_line


@pytest.fixture
def control(anonymous):
    def post(path, body=None):
        return anonymous.post(f"/_sandbox/{path}", json=body or {})

    return post


def test_resources_can_be_seeded_over_http(control, state):
    vat = control("vats", {"name": "21% BTW", "percentage": "21"}).json()
    account = control("accounts", {"name": "Acme B.V.", "custom": {"btw-nummer": "NL1"}}).json()
    course = control("courses", {"name": "Excel", "code": "EXG"}).json()
    edition = control("planned_courses", {"course_id": course["id"], "start_date": "2026-09-01"}).json()
    assert (vat["percentage"], account["custom"], edition["start_date"]) == (
        "21.0",
        {"btw-nummer": "NL1"},
        "2026-09-01",
    )


def test_an_invoice_can_be_created_and_walked_through_its_lifecycle(control, world):
    body = {"account_id": world.account["id"], "items": [course_line(world)]}
    invoice = control("invoices", body).json()
    assert control(f"invoices/{invoice['id']}/open").json()["status"] == "open"
    assert control(f"invoices/{invoice['id']}/pay", {"amount": "100"}).json()["total_open"] == "619.95"
    assert control(f"invoices/{invoice['id']}/expire").json()["status"] == "expired"
    assert control(f"invoices/{invoice['id']}/edit", {"feature": "PO-9"}).json()["feature"] == "PO-9"
    assert control(f"invoices/{invoice['id']}/delete").status_code == 200


def test_a_refused_action_answers_with_the_error_body(control, world, state):
    invoice = state.add_invoice(world.account["id"], [course_line(world)])
    response = control(f"invoices/{invoice['id']}/expire")
    assert response.status_code == 422
    assert response.json()["message"] == "Cannot expire an invoice with status concept"


def test_wrong_arguments_are_a_400(control):
    assert control("vats", {"colour": "red"}).status_code == 400


def test_an_account_can_be_renamed_and_given_a_vat_number(control, world, state):
    control(f"accounts/{world.account['id']}", {"name": "Nieuw B.V.", "custom": {"btw-nummer": "NL2"}})
    assert (world.account["name"], world.account["custom"]["btw-nummer"]) == ("Nieuw B.V.", "NL2")


def test_tokens_and_faults_can_be_added(control, anonymous):
    control("tokens", {"token": "t1", "scopes": ["relations:read"]})
    control("faults", {"pattern": "/accounts", "kind": "503"})
    assert anonymous.get("/api/v1/accounts", headers={"Authorization": "Bearer t1"}).status_code == 503


def test_the_clock_can_be_set(control):
    assert control("clock", {"set": "2026-12-31T23:00:00+01:00"}).json()["now"].startswith("2026-12-31T23:00")


def test_auto_approve_can_be_switched(control, state):
    control("auto-approve", {"enabled": True})
    assert state.auto_approve is True


def test_options_can_be_set_and_unknown_ones_are_refused(control, state):
    control("options", {"rate_limit": 10, "webhook_options": {"wrap": True}})
    assert (state.rate_limit, state.webhook_options["wrap"], state.webhook_options["drop"]) == (10, True, False)
    assert control("options", {"nonsense": 1}).status_code == 400


def test_state_and_requests_can_be_inspected(anonymous, api, world):
    api.get("/accounts")
    snapshot = anonymous.get("/_sandbox/state").json()
    assert snapshot["accounts"][0]["name"] == "Voorbeeld Opleidingen B.V."
    assert anonymous.get("/_sandbox/requests").json()[0]["path"] == "/accounts"


def test_reset_forgets_the_data_but_keeps_the_default_token(control, api, world):
    control("reset")
    assert api.get("/accounts").json() == []


def test_an_unknown_control_endpoint_is_a_404(anonymous):
    assert anonymous.post("/_sandbox/nothing", json={}).status_code == 404


def test_each_control_api_invoice_action_fires_its_webhook(control, state, world, receiver):
    state.add_webhook(receiver.url, ["invoice.created", "invoice.updated", "invoice.deleted"])
    invoice = control("invoices", {"account_id": world.account["id"], "items": [course_line(world)]}).json()
    for action, body in (("edit", {"feature": "PO-9"}), ("open", {}), ("expire", {}), ("pay", {}), ("delete", {})):
        assert control(f"invoices/{invoice['id']}/{action}", body).status_code == 200, action
    assert control("wait", {"timeout": 5}).status_code == 200
    events = [body["event"] for body in receiver.bodies()]
    assert events == ["invoice.created"] + ["invoice.updated"] * 4 + ["invoice.deleted"]
