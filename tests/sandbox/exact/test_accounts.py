"""`crm/Accounts` [notes 5.1, section 9 items 31-35]."""

from __future__ import annotations

from .helpers import create_customer, create_entry, error_text


def test_codes_are_padded_to_18_characters_and_an_unpadded_filter_matches_nothing(api):
    created = create_customer(api, Code="10042")
    assert created["Code"] == "             10042"
    unpadded = api.get("crm/Accounts", params={"$filter": "Code eq '10042'"})
    padded = api.get("crm/Accounts", params={"$filter": f"Code eq '{'10042':>18}'"})
    assert unpadded.status_code == 200
    assert unpadded.json()["d"]["results"] == []
    assert [row["ID"] for row in padded.json()["d"]["results"]] == [created["ID"]]


def test_a_missing_code_gets_the_highest_numeric_code_plus_one(api):
    create_customer(api, Code="41")
    create_customer(api, Code="EF7")
    assert create_customer(api)["Code"] == "42".rjust(18)


def test_a_duplicate_code_is_refused(api):
    create_customer(api, Code="EF1")
    response = api.post("crm/Accounts", json={"Name": "Twin", "Code": "EF1"})
    assert response.status_code == 500
    assert error_text(response) == "Gegeven bestaat reeds."


def test_name_is_mandatory(api):
    response = api.post("crm/Accounts", json={"Code": "1"})
    assert response.status_code == 500
    assert error_text(response) == "Verplicht: Naam"


def test_an_unknown_property_in_a_body_is_refused_with_exacts_message(api):
    response = api.post("crm/Accounts", json={"Name": "Acme", "SalesVatCode": "2"})
    assert response.status_code == 400
    assert error_text(response) == (
        "Error processing request stream. The property name 'SalesVatCode' specified for type "
        "'Exact.Web.Api.Models.Account' is not valid."
    )


def test_read_only_properties_are_silently_ignored_and_is_sales_is_derived(api):
    prospect = create_customer(api, Status="P", IsSales=True, Created="2020-01-01")
    customer = create_customer(api, Status="C")
    assert prospect["IsSales"] is False
    assert prospect["Created"] != "/Date(1577836800000)/"
    assert customer["IsSales"] is True


def test_status_defaults_to_none_and_must_be_a_known_value(api):
    assert api.post("crm/Accounts", json={"Name": "x"}).json()["d"]["Status"] == "A"
    assert error_text(api.post("crm/Accounts", json={"Name": "x", "Status": "Z"})) == "Ongeldig: Status"


def test_country_is_validated_and_returned_padded_to_three(api):
    assert create_customer(api, Country="NL")["Country"] == "NL "
    response = api.post("crm/Accounts", json={"Name": "x", "Country": "XX"})
    assert error_text(response) == "Ongeldige referentie: Land"


def test_listing_accounts_without_a_filter_is_refused(api):
    response = api.get("crm/Accounts")
    assert response.status_code == 400
    assert error_text(response).startswith("This endpoint has mandatory filtering applied.")
    assert ",Classification1," in error_text(response)  # the whole list Exact names (picqer #591)
    assert api.get("crm/Accounts", params={"$filter": "Classification1 eq null"}).status_code == 200
    assert api.get("crm/Accounts", params={"$filter": ""}).status_code == 400


def test_accounts_can_be_found_by_email(api):
    created = create_customer(api, Email="finance@acme.example")
    rows = api.get("crm/Accounts", params={"$filter": "Email eq 'finance@acme.example'"}).json()["d"]["results"]
    assert [row["ID"] for row in rows] == [created["ID"]]


def _ids(api, text: str) -> list[str]:
    return [row["ID"] for row in api.get("crm/Accounts", params={"$filter": text}).json()["d"]["results"]]


def test_eq_ignores_trailing_spaces_and_case_but_not_leading_spaces_as_sql_server_compares(api):
    padded = create_customer(api, Email="finance@acme.example  ", VATNumber="NL001")
    tabbed = create_customer(api, Email="info@acme.example\t")
    assert _ids(api, "Email eq 'finance@acme.example'") == [padded["ID"]]
    assert _ids(api, "Email eq 'FINANCE@Acme.example '") == [padded["ID"]]
    assert _ids(api, "VATNumber eq 'NL001   '") == [padded["ID"]]
    assert _ids(api, "Email eq ' finance@acme.example'") == []
    # Only spaces are padding: a trailing tab is part of the value.
    assert _ids(api, "Email eq 'info@acme.example'") == []
    assert _ids(api, "Email eq 'info@acme.example\t'") == [tabbed["ID"]]
    assert padded["ID"] not in _ids(api, "Email ne 'finance@acme.example' and Classification1 eq null")


def test_put_and_delete_answer_204_with_an_empty_body(api):
    created = create_customer(api)
    put = api.put(f"crm/Accounts(guid'{created['ID']}')", json={"City": "Utrecht"})
    assert (put.status_code, put.content) == (204, b"")
    assert api.get(f"crm/Accounts(guid'{created['ID']}')").json()["d"]["City"] == "Utrecht"
    delete = api.delete(f"crm/Accounts(guid'{created['ID']}')")
    assert (delete.status_code, delete.content) == (204, b"")
    assert api.get(f"crm/Accounts(guid'{created['ID']}')").status_code == 404


def test_a_merged_account_disappears_and_its_entries_move_to_the_survivor(api, state):
    entry = create_entry(api, state)
    survivor = create_customer(api, Name="Survivor")
    state.merge_accounts(1234567, survivor["ID"], entry["Customer"])
    assert api.get(f"crm/Accounts(guid'{entry['Customer']}')").status_code == 404
    moved = api.get(f"salesentry/SalesEntries(guid'{entry['EntryID']}')").json()["d"]
    assert moved["Customer"] == survivor["ID"]


def test_the_properties_exact_has_are_accepted_and_read_only_ones_silently_ignored(api):
    body = {
        "Code": f"{255:>18}",
        "PaymentConditionSales": 15,
        "PaymentConditionSalesDescription": "Binnen 15 dagen",
        "InvoiceAttachmentType": 0,
        "Classification1": "0b6f2c7e-1111-4a2b-8c3d-4e5f6a7b8c9d",
        "AccountManager": "0b6f2c7e-2222-4a2b-8c3d-4e5f6a7b8c9d",
        "IsSales": True,
        "IsPurchase": True,
        "CreditLineSales": 500,
        "StartDate": "2025-01-01",
    }
    created = create_customer(api, **body)
    assert created["PaymentConditionSales"] == "15"
    assert created["PaymentConditionSalesDescription"] == "Binnen 15 dagen"
    assert created["InvoiceAttachmentType"] == 0
    assert created["Classification1"] == body["Classification1"]
    assert created["CreditLineSales"] == 500


def test_a_payment_condition_that_does_not_exist_is_refused(api):
    response = api.post("crm/Accounts", json={"Name": "Acme", "Status": "C", "PaymentConditionSales": "99"})
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Betalingsconditie"
