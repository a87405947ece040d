"""`sync/CRM/Accounts` and the accounts in `sync/Deleted`: what a local index of a division's accounts reads."""

from __future__ import annotations

from .helpers import create_customer, error_text

ACCOUNTS = "sync/CRM/Accounts"
SELECT = "ID,Code,Name,Email,VATNumber,Status,Timestamp"


def _rows(api, after: int = 0, select: str = SELECT) -> dict:
    response = api.get(ACCOUNTS, params={"$select": select, "$filter": f"Timestamp gt {after}L"})
    assert response.status_code == 200, response.text
    return response.json()["d"]


def test_sync_accounts_lists_every_account_with_its_fields_and_a_growing_timestamp(api, state):
    create_customer(api, Name="Noord BV", Code="EF7", VATNumber="NL001", Email="a@noord.example")
    create_customer(api, Name="Zuid BV")
    rows = _rows(api)["results"]
    assert [row["Name"] for row in rows] == ["Noord BV", "Zuid BV"]
    assert rows[0]["Code"] == "EF7".rjust(18)  # padded as the CRUD endpoint stores it
    assert (rows[0]["VATNumber"], rows[0]["Email"], rows[0]["Status"]) == ("NL001", "a@noord.example", "C")
    stamps = [int(row["Timestamp"]) for row in rows]  # Edm.Int64 travels as a string
    assert stamps == sorted(set(stamps))
    assert set(rows[0]) == set(SELECT.split(",")) | {"__metadata"}


def test_sync_accounts_after_a_timestamp_returns_only_what_was_made_or_changed_since(api, state):
    noord = create_customer(api, Name="Noord BV")
    create_customer(api, Name="Zuid BV")
    high = max(int(row["Timestamp"]) for row in _rows(api)["results"])
    assert _rows(api, high)["results"] == []
    assert api.put(f"crm/Accounts(guid'{noord['ID']}')", json={"Email": "nieuw@noord.example"}).is_success
    west = create_customer(api, Name="West BV")
    later = _rows(api, high)["results"]
    assert [row["ID"] for row in later] == [noord["ID"], west["ID"]]
    assert later[0]["Email"] == "nieuw@noord.example"
    assert all(int(row["Timestamp"]) > high for row in later)


def test_sync_accounts_pages_by_1000_in_timestamp_order(api, state):
    state.rate_limits_enabled = False
    for number in range(1005):
        state.divisions[next(iter(state.divisions))].accounts[f"00000000-0000-0000-0000-{number:012d}"] = {
            "ID": f"00000000-0000-0000-0000-{number:012d}",
            "Code": str(number).rjust(18),
            "Name": f"Klant {number}",
            "Status": "C",
            "Created": number,
        }
    first = _rows(api, select="ID,Timestamp")
    assert len(first["results"]) == 1000
    second = api.get(first["__next"]).json()["d"]
    assert len(second["results"]) == 5
    assert "__next" not in second
    assert int(second["results"][0]["Timestamp"]) > int(first["results"][-1]["Timestamp"])


def test_sync_accounts_takes_no_filter_but_timestamp(api, state):
    response = api.get(ACCOUNTS, params={"$select": "ID", "$filter": "VATNumber eq 'NL001'"})
    assert response.status_code == 400
    assert "Timestamp" in error_text(response)


def test_a_deleted_account_comes_back_from_sync_deleted_as_entity_type_2(api, state):
    gone = create_customer(api, Name="Weg BV")
    high = max(int(row["Timestamp"]) for row in _rows(api)["results"])
    assert api.delete(f"crm/Accounts(guid'{gone['ID']}')").status_code == 204
    params = {"$select": "EntityKey,EntityType,Timestamp", "$filter": f"Timestamp gt {high}L"}
    deleted = api.get("sync/Deleted", params=params).json()["d"]["results"]
    assert [(row["EntityKey"], row["EntityType"]) for row in deleted] == [(gone["ID"], 2)]
    assert int(deleted[0]["Timestamp"]) > high
    assert _rows(api, high)["results"] == []


def test_a_sync_endpoint_switched_unavailable_answers_the_chosen_status(api, state):
    state.unavailable_endpoints = [ACCOUNTS]
    assert api.get(ACCOUNTS, params={"$select": "ID"}).status_code == 404
    state.unavailable_status = 403
    assert api.get(ACCOUNTS, params={"$select": "ID"}).status_code == 403
    assert api.get("crm/Accounts", params={"$select": "ID", "$filter": "Name eq 'x'"}).status_code == 200
