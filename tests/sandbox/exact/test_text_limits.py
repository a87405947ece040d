"""Text lengths and country codes: what a strict Exact refuses instead of storing (notes 3.3, 5.1, item 33)."""

from __future__ import annotations

from .helpers import create_customer, entry_body, error_text, gl_id, line


def test_an_account_name_longer_than_50_characters_is_refused(api):
    response = api.post("crm/Accounts", json={"Name": "N" * 51, "Status": "C"})
    assert response.status_code == 400
    assert "'Name'" in error_text(response)
    assert "50" in error_text(response)


def test_an_account_name_of_50_characters_is_stored_whole(api):
    assert create_customer(api, Name="N" * 50)["Name"] == "N" * 50


def test_a_country_name_instead_of_an_iso_code_is_refused(api):
    response = api.post("crm/Accounts", json={"Name": "Acme", "Country": "Nederland"})
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Land"


def test_a_sales_entry_description_longer_than_60_characters_is_refused(api, state):
    customer = create_customer(api)
    body = entry_body(customer["ID"], line(gl_id(state, "8000"), 100), Description="D" * 61)
    response = api.post("salesentry/SalesEntries", json=body)
    assert response.status_code == 400
    assert "'Description'" in error_text(response)


def test_a_line_description_longer_than_60_characters_is_refused(api, state):
    customer = create_customer(api)
    body = entry_body(customer["ID"], line(gl_id(state, "8000"), 100, Description="L" * 61))
    assert api.post("salesentry/SalesEntries", json=body).status_code == 400


def test_a_your_ref_longer_than_30_characters_is_refused(api, state):
    customer = create_customer(api)
    body = entry_body(customer["ID"], line(gl_id(state, "8000"), 100), YourRef="R" * 31)
    assert api.post("salesentry/SalesEntries", json=body).status_code == 400
