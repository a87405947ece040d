"""Envelopes, paging, $filter/$select, body parsing and dates [notes 3, section 9 items 13-25]."""

from __future__ import annotations

import httpx

from .helpers import DIVISION, api_headers, create_customer, create_entry, entry_body, error_text, gl_id, line


def test_a_collection_pages_by_60_with_a_next_link_that_keeps_select_and_filter(api, state):
    state.rate_limits_enabled = False
    for number in range(61):
        create_customer(api, Name=f"Klant {number}", City="Utrecht")
    params = {"$filter": "City eq 'Utrecht'", "$select": "ID,Name"}
    first = api.get("crm/Accounts", params=params).json()["d"]
    assert len(first["results"]) == 60
    assert "$skiptoken=guid" in first["__next"]
    assert "%24select=ID%2CName" in first["__next"] or "$select=ID%2CName" in first["__next"]
    second = api.get(first["__next"]).json()["d"]
    assert len(second["results"]) == 1
    assert "__next" not in second
    assert {row["ID"] for row in first["results"]}.isdisjoint({row["ID"] for row in second["results"]})
    assert set(second["results"][0]) == {"__metadata", "ID", "Name"}


def test_skip_is_refused(api):
    assert api.get("financial/GLAccounts", params={"$skip": "10"}).status_code == 400


def test_top_limits_the_rows(api):
    assert len(api.get("financial/GLAccounts", params={"$top": "2"}).json()["d"]["results"]) == 2


def test_a_switch_makes_top_answer_a_bare_array_without_results_or_next(api, http):
    http.post("/_sandbox/config", json={"top_bare_array": True})
    body = api.get("financial/GLAccounts", params={"$top": "2", "$select": "Code"}).json()
    assert isinstance(body["d"], list)
    assert len(body["d"]) == 2
    assert set(body["d"][0]) == {"__metadata", "Code"}
    assert "results" in api.get("financial/GLAccounts").json()["d"]  # without $top: the object form


def test_mandatory_filtering_can_be_switched_on_for_other_endpoints_with_a_sync_counterpart(api, state, http):
    entry = create_entry(api, state)
    assert api.get("salesentry/SalesEntries").status_code == 200  # by default only crm/Accounts
    endpoints = ["crm/Accounts", "salesentry/SalesEntries", "documents/Documents", "financial/GLAccounts"]
    http.post("/_sandbox/config", json={"mandatory_filter_endpoints": endpoints})
    refused = api.get("salesentry/SalesEntries")
    assert refused.status_code == 400
    assert "must have a $filter parameter with one of the following fields" in error_text(refused)
    assert "YourRef" in error_text(refused)
    assert api.get("documents/Documents").status_code == 400
    assert api.get("financial/GLAccounts").status_code == 400
    assert api.get("salesentry/SalesEntries", params={"$filter": "YourRef eq 'x'"}).status_code == 200
    lines = api.get(f"salesentry/SalesEntries(guid'{entry['EntryID']}')/SalesEntryLines")
    assert lines.status_code == 200  # an entry's own lines are filtered by its key


def test_a_guid_property_compared_with_a_plain_string_is_refused_with_the_position(api):
    response = api.get("salesentry/SalesEntries", params={"$filter": "Customer eq 'abc'"})
    assert response.status_code == 400
    assert error_text(response) == (
        "Operator 'eq' incompatible with operand types 'System.Guid' and 'System.String' at position 9."
    )


def test_an_unknown_property_in_a_filter_is_refused(api):
    response = api.get("financial/GLAccounts", params={"$filter": "Colour eq 'red'"})
    assert response.status_code == 400
    assert "Colour" in error_text(response)


def test_filters_support_and_or_parentheses_trim_and_doubled_quotes(api):
    create_customer(api, Name="O'Neill Opleidingen", Code="500")
    create_customer(api, Name="Other", Code="501")
    text = "(trim(Code) eq '500' or Code eq '999') and Name eq 'O''Neill Opleidingen'"
    rows = api.get("crm/Accounts", params={"$filter": text}).json()["d"]["results"]
    assert [row["Name"] for row in rows] == ["O'Neill Opleidingen"]


def test_select_returns_only_the_selected_properties_and_refuses_unknown_ones(api):
    rows = api.get("financial/GLAccounts", params={"$select": "ID,Code"}).json()["d"]["results"]
    assert set(rows[0]) == {"__metadata", "ID", "Code"}
    assert api.get("financial/GLAccounts", params={"$select": "ID,Nope"}).status_code == 400


def test_a_by_key_get_returns_a_bare_entity_with_metadata_and_lowercase_guid(api):
    created = create_customer(api)
    response = api.get(f"crm/Accounts(guid'{created['ID'].upper()}')")
    entity = response.json()["d"]
    assert "results" not in entity
    assert entity["ID"] == created["ID"].lower()
    assert entity["__metadata"]["uri"].endswith(f"/api/v1/{DIVISION}/crm/Accounts(guid'{created['ID']}')")
    assert entity["__metadata"]["type"] == "Exact.Web.Api.Models.Account"
    assert entity["BankAccounts"] == {"__deferred": {"uri": entity["__metadata"]["uri"] + "/BankAccounts"}}


def test_an_unknown_key_is_404(api):
    assert api.get("crm/Accounts(guid'00000000-0000-0000-0000-000000000000')").status_code == 404


def test_dates_come_out_as_amsterdam_wall_clock_encoded_as_if_utc(api, state):
    entry = create_entry(api, state)
    assert entry["EntryDate"] == "/Date(1741910400000)/"  # 2025-03-14 00:00 as if UTC
    # The frozen clock is 10:00:30 UTC = 11:00:30 in Amsterdam (CET): encoded as 11:00:30 "UTC".
    assert entry["Created"] == "/Date(1741950030000)/"


def test_a_datetime_with_a_z_suffix_is_shifted_into_the_previous_day(api, state):
    entry = create_entry(api, state, EntryDate="2025-03-01T00:00:00Z")
    assert entry["ReportingPeriod"] == 2


def test_post_without_json_content_type_is_refused(api):
    response = api.post("crm/Accounts", content=b'{"Name":"x"}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_post_without_prefer_returns_null_properties_except_the_key(api):
    response = api.post("crm/Accounts", json={"Name": "Acme"}, headers={"Prefer": ""})
    entity = response.json()["d"]
    assert response.status_code == 201
    assert entity["ID"]
    assert entity["Name"] is None


def test_a_malformed_guid_in_a_body_is_refused_with_the_conversion_message(api):
    response = api.post("documents/Documents", json={"Subject": "x", "Type": 10, "Account": "not-a-guid"})
    assert response.status_code == 400
    assert "converting the value from request payload for property 'Account' to type 'Guid'" in error_text(response)


def test_numbers_sent_as_strings_are_coerced(api):
    response = api.post("documents/Documents", json={"Subject": "x", "Type": "10"})
    assert response.json()["d"]["Type"] == 10


def test_a_request_without_accept_json_is_refused(server, tokens):
    headers = {**api_headers(tokens["access_token"]), "Accept": "*/*"}
    assert httpx.get(f"{server.url}/api/v1/{DIVISION}/financial/Journals", headers=headers).status_code == 406


def test_lookups_list_seeded_journals_gl_accounts_cost_centers_cost_units_and_vat_codes(api):
    journals = api.get("financial/Journals", params={"$filter": "Type eq 20"}).json()["d"]["results"]
    assert [j["Code"] for j in journals] == ["70"]
    gl = api.get("financial/GLAccounts", params={"$filter": "Code eq '8000' or Code eq '1300'"}).json()["d"]
    assert sorted(row["BalanceType"] for row in gl["results"]) == ["B", "W"]
    assert api.get("hrm/Costcenters").json()["d"]["results"]
    assert api.get("hrm/Costunits").json()["d"]["results"]
    vat = api.get("vat/VATCodes", params={"$filter": "VATTransactionType eq 'S'"}).json()["d"]["results"]
    assert {row["Percentage"] for row in vat} >= {0.21, 0.09, 0.0}


def test_vat_codes_are_stored_padded_to_three_characters_by_default(api):
    padded = api.get("vat/VATCodes", params={"$filter": "Code eq '2  '"}).json()["d"]["results"]
    assert [row["Code"] for row in padded] == ["2  "]
    # `eq` ignores trailing spaces as SQL Server does: the unpadded code finds it, and it is returned padded.
    plain = api.get("vat/VATCodes", params={"$filter": "Code eq '2'"}).json()["d"]["results"]
    assert [row["Code"] for row in plain] == ["2  "]
    gl = api.get("financial/GLAccounts", params={"$filter": "Code eq '8000'"}).json()["d"]["results"]
    assert gl[0]["VATCode"] == "2  "


def test_the_unpadded_switch_stores_vat_codes_trimmed_also_in_divisions_seeded_before(api, state, http):
    assert http.post("/_sandbox/config", json={"pad_vat_codes": False}).status_code == 201
    plain = api.get("vat/VATCodes", params={"$filter": "Code eq '2'"}).json()["d"]["results"]
    assert [row["Code"] for row in plain] == ["2"]
    padded = api.get("vat/VATCodes", params={"$filter": "Code eq '2  '"}).json()["d"]["results"]
    assert [row["Code"] for row in padded] == ["2"]


def test_a_sales_line_finds_its_vat_code_padded_or_not(api, state):
    customer = create_customer(api)
    for code in ("2", "2  "):
        body = entry_body(customer["ID"], line(gl_id(state, "8000"), 100, VATCode=code))
        response = api.post("salesentry/SalesEntries", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["d"]["VATAmountFC"] == 21.0


def test_an_error_answer_has_exacts_envelope_with_an_empty_code_and_language(api):
    response = api.get("financial/GLAccounts", params={"$skip": "10"})
    body = response.json()
    assert set(body) == {"error"}
    assert (body["error"]["code"], body["error"]["message"]["lang"]) == ("", "")
    assert body["error"]["message"]["value"]


def test_a_filter_with_ne_leaves_out_the_matching_rows(api):
    rows = api.get("financial/Journals", params={"$filter": "Code ne '70'"}).json()["d"]["results"]
    assert sorted(row["Code"] for row in rows) == ["20", "90"]


def test_a_filter_compares_numbers_without_quotes(api):
    rows = api.get("financial/Journals", params={"$filter": "Type eq 20"}).json()["d"]["results"]
    assert [row["Code"] for row in rows] == ["70"]


def test_post_answers_201_with_the_entity_in_a_d_envelope(api):
    response = api.post("crm/Accounts", json={"Name": "Acme", "Status": "C"})
    assert response.status_code == 201
    assert set(response.json()) == {"d"}
    assert response.json()["d"]["Name"] == "Acme"
