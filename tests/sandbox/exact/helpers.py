"""Small builders shared by the Exact simulator tests."""

from __future__ import annotations

DIVISION = 1234567
# The built-in client's registered redirect URI: the contract's {PUBLIC_URL}/exact/callback on the default.
REDIRECT_URI = "http://localhost:8000/exact/callback"


def api_headers(access_token: str) -> dict:
    return {
        "Authorization": f"Bearer {access_token}",
        "Accept": "application/json",
        "Prefer": "return=representation",
    }


def error_text(response) -> str:
    return response.json()["error"]["message"]["value"]


def gl_id(state, code: str, division: int = DIVISION) -> str:
    return next(row["ID"] for row in state.division(division).gl_accounts.values() if row["Code"] == code)


def create_customer(api, **fields) -> dict:
    body = {"Name": "Acme Training BV", "Status": "C", **fields}
    response = api.post("crm/Accounts", json=body)
    assert response.status_code == 201, response.text
    return response.json()["d"]


def entry_body(customer_id: str, *lines: dict, **header) -> dict:
    return {
        "Journal": "70",
        "Customer": customer_id,
        "EntryDate": "2025-03-14",
        **header,
        "SalesEntryLines": list(lines),
    }


def line(gl: str, amount, **fields) -> dict:
    return {"GLAccount": gl, "AmountFC": amount, **fields}


def create_entry(api, state, amount=100.0, **header) -> dict:
    customer = create_customer(api)
    body = entry_body(customer["ID"], line(gl_id(state, "8000"), amount), **header)
    response = api.post("salesentry/SalesEntries", json=body)
    assert response.status_code == 201, response.text
    return response.json()["d"]
