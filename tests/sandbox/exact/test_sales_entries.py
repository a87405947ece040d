"""`salesentry/SalesEntries` and `SalesEntryLines` [notes 5.2-5.4, section 9 items 36-46]."""

from __future__ import annotations

from .helpers import create_customer, create_entry, entry_body, error_text, gl_id, line

ENTRIES = "salesentry/SalesEntries"


def _key(entry: dict) -> str:
    return f"{ENTRIES}(guid'{entry['EntryID']}')"


def test_a_sales_entry_gets_vat_totals_an_entry_number_and_a_period(api, state):
    customer = create_customer(api)
    body = entry_body(
        customer["ID"],
        line(gl_id(state, "8000"), "100.05", VATCode="2"),
        line(gl_id(state, "8010"), 10),  # VAT code from the GL account: 9%
        AmountFC=1, Type=21, Status=50,  # read-only: ignored
    )  # fmt: skip
    entry = api.post(ENTRIES, json=body).json()["d"]
    assert entry["VATAmountFC"] == 21.91  # 21.0105 -> 21.01, plus 0.90
    assert entry["AmountFC"] == 131.96
    assert (entry["Type"], entry["Status"]) == (20, 20)
    assert (entry["ReportingYear"], entry["ReportingPeriod"]) == (2025, 3)
    assert entry["EntryNumber"] == 25700001
    assert entry["SalesEntryLines"] == {"__deferred": {"uri": entry["__metadata"]["uri"] + "/SalesEntryLines"}}


def test_vat_is_rounded_half_up_per_line(api, state):
    entry = create_entry(api, state, amount=0.5)  # 0.105 -> 0.11
    assert entry["VATAmountFC"] == 0.11


def test_a_given_line_vat_amount_overrides_the_computed_one(api, state):
    customer = create_customer(api)
    body = entry_body(customer["ID"], line(gl_id(state, "8000"), 100, VATAmountFC=20.99))
    assert api.post(ENTRIES, json=body).json()["d"]["AmountFC"] == 120.99


def test_a_customer_that_is_not_status_c_is_refused(api, state):
    prospect = create_customer(api, Status="P")
    response = api.post(ENTRIES, json=entry_body(prospect["ID"], line(gl_id(state, "8000"), 100)))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldig: Klant (Type)"


def test_a_journal_that_is_not_a_sales_journal_is_refused(api, state):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 1), Journal="20"))
    assert error_text(response) == "Ongeldige referentie: Journals"


def test_a_balance_sheet_gl_account_is_refused(api, state):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "1300"), 100)))
    assert error_text(response) == "Ongeldig: Grootboekrekeningtype"


def test_an_entry_without_lines_is_refused(api):
    customer = create_customer(api)
    assert error_text(api.post(ENTRIES, json=entry_body(customer["ID"]))) == "Verplicht: Boekingsregels"


def test_several_validation_messages_are_joined_with_crlf(api, state):
    prospect = create_customer(api, Status="S")
    body = entry_body(prospect["ID"], line(gl_id(state, "8000"), 100, VATCode="99"))
    assert error_text(api.post(ENTRIES, json=body)) == "Ongeldig: Klant (Type)\r\nOngeldige referentie: Btw-code"


def test_a_cost_center_is_mandatory_or_forbidden_as_the_gl_account_says(api, state):
    customer = create_customer(api)
    projects = gl_id(state, "8030")  # UseCostcenter 1, UseCostunit 2
    missing = api.post(ENTRIES, json=entry_body(customer["ID"], line(projects, 100)))
    forbidden = api.post(ENTRIES, json=entry_body(customer["ID"], line(projects, 100, CostCenter="100", CostUnit="10")))
    unknown = api.post(ENTRIES, json=entry_body(customer["ID"], line(projects, 100, CostCenter="999")))
    fine = api.post(ENTRIES, json=entry_body(customer["ID"], line(projects, 100, CostCenter="100")))
    assert error_text(missing) == "Verplicht: Kostenplaats"
    assert error_text(forbidden) == "Niet toegestaan: Kostendrager"
    assert error_text(unknown) == "Ongeldige referentie: Kostenplaats"
    assert fine.status_code == 201


def test_a_malformed_line_gl_account_guid_is_a_400(api):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line("8000", 100)))
    assert response.status_code == 400
    assert "property 'GLAccount' to type 'Guid'" in error_text(response)


def test_a_negative_total_makes_a_credit_note(api, state):
    assert create_entry(api, state, amount=-50)["Type"] == 21


def test_a_client_entry_number_is_accepted_when_free_and_a_duplicate_is_refused(api, state):
    assert create_entry(api, state, EntryNumber=25700100)["EntryNumber"] == 25700100
    customer = create_customer(api)
    again = entry_body(customer["ID"], line(gl_id(state, "8000"), 1), EntryNumber=25700100)
    assert error_text(api.post(ENTRIES, json=again)) == "In gebruik: Boekstuknummer."


def test_re_posting_the_same_entry_creates_a_duplicate(api, state):
    customer = create_customer(api)
    body = entry_body(customer["ID"], line(gl_id(state, "8000"), 100), YourRef="EDU-1")
    first, second = api.post(ENTRIES, json=body).json()["d"], api.post(ENTRIES, json=body).json()["d"]
    assert first["EntryID"] != second["EntryID"]
    found = api.get(ENTRIES, params={"$filter": "YourRef eq 'EDU-1'"}).json()["d"]["results"]
    assert len(found) == 2


def test_a_closed_period_is_refused(api, state):
    state.close_period(1234567, 2025, 3)
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 1)))
    assert error_text(response) == "Periode is afgesloten: 2025 – 03"


def test_a_processed_entry_refuses_put_and_delete(api, state):
    entry = create_entry(api, state)
    state.process_entry(1234567, entry["EntryID"])
    assert error_text(api.put(_key(entry), json={"Description": "x"})) == "Reeds verwerkt"
    assert error_text(api.delete(_key(entry))) == "Reeds verwerkt"


def test_put_updates_header_fields(api, state):
    entry = create_entry(api, state)
    other = create_customer(api, Name="Other BV")
    response = api.put(_key(entry), json={"Customer": other["ID"], "YourRef": "R2", "EntryDate": "2025-04-02"})
    assert response.status_code == 204
    updated = api.get(_key(entry)).json()["d"]
    assert (updated["Customer"], updated["YourRef"], updated["ReportingPeriod"]) == (other["ID"], "R2", 4)


def test_put_with_new_nested_lines_is_refused(api, state):
    entry = create_entry(api, state)
    response = api.put(_key(entry), json={"SalesEntryLines": [line(gl_id(state, "8000"), 5)]})
    assert response.status_code == 400
    assert error_text(response).startswith("Error processing request stream. Binding to new entities")


def test_lines_come_inline_only_with_expand(api, state):
    entry = create_entry(api, state)
    expanded = api.get(_key(entry), params={"$expand": "SalesEntryLines"}).json()["d"]
    lines = expanded["SalesEntryLines"]["results"]
    assert [(row["LineNumber"], row["AmountFC"], row["GLAccountCode"]) for row in lines] == [(1, 100.0, "8000")]


def test_adding_and_changing_lines_recomputes_the_entry(api, state):
    entry = create_entry(api, state)
    added = api.post("salesentry/SalesEntryLines", json={"EntryID": entry["EntryID"], **line(gl_id(state, "8000"), 50)})
    assert added.json()["d"]["LineNumber"] == 2
    api.put(f"salesentry/SalesEntryLines(guid'{added.json()['d']['ID']}')", json={"AmountFC": 200})
    assert api.get(_key(entry)).json()["d"]["AmountFC"] == 363.0


def test_deleting_the_last_line_deletes_the_entry(api, state):
    entry = create_entry(api, state)
    lines = api.get("salesentry/SalesEntryLines", params={"$filter": f"EntryID eq guid'{entry['EntryID']}'"})
    only = lines.json()["d"]["results"][0]
    assert api.delete(f"salesentry/SalesEntryLines(guid'{only['ID']}')").status_code == 204
    assert api.get(_key(entry)).status_code == 404


def test_deleting_an_entry_removes_its_lines(api, state):
    entry = create_entry(api, state)
    assert api.delete(_key(entry)).status_code == 204
    assert state.division(1234567).lines == {}


def test_business_errors_can_be_switched_to_400(api, state):
    state.business_error_status = 400
    customer = create_customer(api)
    assert api.post(ENTRIES, json=entry_body(customer["ID"])).status_code == 400


def test_entries_can_be_filtered_by_entry_date_customer_and_modified(api, state):
    entry = create_entry(api, state)
    text = (
        f"EntryDate ge datetime'2025-03-01' and Customer eq guid'{entry['Customer']}' "
        "and Modified gt datetime'2025-01-01T00:00:00'"
    )
    rows = api.get(ENTRIES, params={"$filter": text}).json()["d"]["results"]
    assert [row["EntryID"] for row in rows] == [entry["EntryID"]]
    assert api.get(ENTRIES, params={"$filter": f"EntryNumber eq {entry['EntryNumber']}"}).json()["d"]["results"]


def test_an_entry_posted_without_payment_reference_gets_one_from_exact(api, state):
    entry = create_entry(api, state)
    assert entry["PaymentReference"] == f"1/{entry['EntryNumber']}"  # the first account's code is "1"


def test_a_put_of_another_customer_regenerates_the_payment_reference(api, state):
    entry = create_entry(api, state, PaymentReference="7310004821300017")
    other = create_customer(api, Code="OTHER")
    key = f"salesentry/SalesEntries(guid'{entry['EntryID']}')"
    assert api.put(key, json={"Customer": other["ID"]}).status_code == 204
    assert api.get(key).json()["d"]["PaymentReference"] == f"OTHER/{entry['EntryNumber']}"


def test_a_payment_reference_sent_with_the_new_customer_is_kept(api, state):
    entry = create_entry(api, state, PaymentReference="7310004821300017")
    other = create_customer(api, Code="OTHER")
    key = f"salesentry/SalesEntries(guid'{entry['EntryID']}')"
    body = {"Customer": other["ID"], "PaymentReference": "7310004821300017"}
    assert api.put(key, json=body).status_code == 204
    assert api.get(key).json()["d"]["PaymentReference"] == "7310004821300017"


def test_a_journal_code_that_does_not_exist_is_refused(api, state):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 1), Journal="99"))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Journals"


def test_an_entry_without_journal_and_customer_is_refused_with_both_mandatory_messages(api, state):
    body = {"EntryDate": "2025-03-14", "SalesEntryLines": [line(gl_id(state, "8000"), 1)]}
    response = api.post(ENTRIES, json=body)
    assert response.status_code == 500
    assert error_text(response) == "Verplicht: Dagboek\r\nVerplicht: Klant"


def test_a_customer_that_does_not_exist_is_refused(api, state):
    body = entry_body("00000000-0000-0000-0000-00000000c0de", line(gl_id(state, "8000"), 100))
    response = api.post(ENTRIES, json=body)
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Klant"


def test_an_unknown_gl_account_is_refused(api):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line("00000000-0000-0000-0000-000000008999", 100)))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Grootboekrekening"


def test_an_unknown_cost_center_is_refused(api, state):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 100, CostCenter="999")))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Kostenplaats"


def test_an_unknown_cost_unit_is_refused(api, state):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 100, CostUnit="99")))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Kostendrager"


def test_an_unknown_vat_code_is_refused(api, state):
    customer = create_customer(api)
    response = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 100, VATCode="99")))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldige referentie: Btw-code"


def test_a_missing_cost_unit_is_refused_where_the_gl_account_demands_one(api, state):
    gl = state.division(1234567).gl_accounts[gl_id(state, "8010")]
    gl["UseCostunit"] = 1  # mandatory
    customer = create_customer(api)
    missing = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl["ID"], 100)))
    given = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl["ID"], 100, CostUnit="10")))
    assert (missing.status_code, error_text(missing)) == (500, "Verplicht: Kostendrager")
    assert given.status_code == 201


def test_vat_per_line_differs_by_a_cent_from_vat_on_the_total_unless_vat_amount_is_sent(api, state):
    customer = create_customer(api)
    two_halves = entry_body(customer["ID"], line(gl_id(state, "8000"), 0.5), line(gl_id(state, "8000"), 0.5))
    computed = api.post(ENTRIES, json=two_halves).json()["d"]
    assert computed["VATAmountFC"] == 0.22  # 0.105 -> 0.11 twice; 21% of the 1.00 total would be 0.21
    assert computed["AmountFC"] == 1.22
    sent = entry_body(
        customer["ID"],
        line(gl_id(state, "8000"), 0.5, VATAmountFC=0.10),
        line(gl_id(state, "8000"), 0.5, VATAmountFC=0.11),
    )
    assert api.post(ENTRIES, json=sent).json()["d"]["AmountFC"] == 1.21


def test_the_customers_sales_payment_condition_decides_the_due_date_when_none_is_given(api, state):
    customer = create_customer(api, PaymentConditionSales="14")
    entry = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 100))).json()["d"]
    assert entry["PaymentCondition"] == "14"
    assert entry["DueDate"] == "/Date(1743120000000)/"  # 14 March 2025 + 14 days
    own = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 100), PaymentCondition="60"))
    assert own.json()["d"]["DueDate"] == "/Date(1747094400000)/"  # + 60 days
    given = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 100), DueDate="2025-04-30"))
    assert given.json()["d"]["DueDate"] == "/Date(1745971200000)/"


def test_without_a_condition_on_the_customer_the_divisions_default_of_30_days_applies(api, state):
    entry = create_entry(api, state)
    assert (entry["PaymentCondition"], entry["DueDate"]) == ("30", "/Date(1744502400000)/")


def test_a_put_with_entry_date_and_reporting_year_and_period_answers_204_and_keeps_the_period(api, state):
    entry = create_entry(api, state)
    body = {"EntryDate": "2025-04-01T00:00:00Z", "ReportingYear": 2025, "ReportingPeriod": 4, "Description": "x"}
    assert api.put(_key(entry), json=body).status_code == 204
    stored = state.division(1234567).entries[entry["EntryID"]]
    assert (stored["ReportingYear"], stored["ReportingPeriod"]) == (2025, 4)


def test_a_put_with_only_a_new_entry_date_moves_the_period_with_it(api, state):
    entry = create_entry(api, state)
    assert api.put(_key(entry), json={"EntryDate": "2025-05-02"}).status_code == 204
    stored = state.division(1234567).entries[entry["EntryID"]]
    assert (stored["ReportingYear"], stored["ReportingPeriod"]) == (2025, 5)
    assert stored["DueDate"].date().isoformat() == "2025-06-01"  # a derived due date follows the date


def test_a_client_invoice_number_is_also_the_entry_number_and_a_duplicate_is_refused(api, state):
    first = create_entry(api, state, InvoiceNumber=2025700042)
    assert first["EntryNumber"] == first["InvoiceNumber"] == 2025700042
    customer = create_customer(api, Name="Other")
    again = api.post(ENTRIES, json=entry_body(customer["ID"], line(gl_id(state, "8000"), 1), InvoiceNumber=2025700042))
    assert again.status_code == 500
    assert error_text(again) == "In gebruik: Boekstuknummer."


def test_after_a_client_number_at_the_end_of_the_range_automatic_numbers_stay_unique_and_puts_work(api, state):
    create_entry(api, state, EntryNumber=25709999)
    numbers = [create_entry(api, state)["EntryNumber"] for _ in range(3)]
    assert numbers == [25710000, 25710001, 25710002]
    last = max(state.division(1234567).entries.values(), key=lambda e: e["EntryNumber"])
    assert api.put(_key(last), json={"Description": "changed"}).status_code == 204


def test_the_replace_switch_gives_a_duplicate_number_the_next_free_one(api, state):
    state.duplicate_entry_number = "replace"
    create_entry(api, state, InvoiceNumber=25700005)
    second = create_entry(api, state, InvoiceNumber=25700005)
    assert second["EntryNumber"] == second["InvoiceNumber"] == 25700006


def test_business_messages_are_dutch_by_default_and_english_when_the_client_asks_for_english(api, state):
    body = {"SalesEntryLines": [line(gl_id(state, "1300"), 100, CostUnit="99")]}
    dutch = api.post(ENTRIES, json=body)
    assert error_text(dutch).split("\r\n") == [
        "Verplicht: Dagboek", "Verplicht: Klant", "Ongeldig: Grootboekrekeningtype", "Ongeldige referentie: Kostendrager"
    ]  # fmt: skip
    english = api.post(ENTRIES, json=body, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert error_text(english).split("\r\n") == [
        "Mandatory: Journal", "Mandatory: Customer", "Invalid: G/L account type", "Invalid reference: Cost unit"
    ]  # fmt: skip


def test_an_english_speaking_exact_user_gets_english_messages_without_asking(api, state):
    state.default_user().language = "en-GB"
    response = api.post(ENTRIES, json={"SalesEntryLines": []})
    assert "Mandatory: Lines" in error_text(response).split("\r\n")
    assert "Verplicht" not in error_text(response)
