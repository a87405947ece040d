"""The bulk and sync endpoints of 1,000 rows and their "Please add a $select" refusal (section 9, items 15, 22)."""

from __future__ import annotations

from .helpers import create_customer, entry_body, error_text, gl_id, line

LINES = "bulk/Financial/TransactionLines"
SYNC = "sync/Financial/TransactionLines"
SELECT = "ID,EntryID,LineNumber,AmountFC,AmountVATFC,YourRef,JournalCode,Timestamp"


def _entries(api, state, count: int, amount=100.0) -> list[dict]:
    customer = create_customer(api)
    entries = []
    for number in range(count):
        body = entry_body(customer["ID"], line(gl_id(state, "8000"), amount, VATCode="2"), YourRef=f"F{number}")
        response = api.post("salesentry/SalesEntries", json=body)
        assert response.status_code == 201, response.text
        entries.append(response.json()["d"])
    return entries


def test_a_bulk_endpoint_without_select_is_refused_with_please_add_a_select(api, state):
    _entries(api, state, 1)
    response = api.get(LINES)
    assert response.status_code == 400
    assert error_text(response) == "Please add a $select or a $top=1 statement to the query string."


def test_a_bulk_endpoint_with_select_star_is_refused_too(api, state):
    assert api.get(LINES, params={"$select": "*"}).status_code == 400


def test_a_bulk_endpoint_answers_one_row_to_top_1_without_select(api, state):
    _entries(api, state, 1)
    response = api.get(LINES, params={"$top": "1"})
    assert response.status_code == 200
    assert len(response.json()["d"]["results"]) == 1


def test_a_sales_entry_shows_as_a_total_line_its_revenue_lines_and_a_vat_line(api, state):
    entry = _entries(api, state, 1)[0]
    params = {"$select": "EntryID,LineNumber,AmountFC,AmountVATFC,YourRef,JournalCode,Status,Type"}
    rows = api.get(LINES, params=params).json()["d"]["results"]
    by_number = {row["LineNumber"]: row for row in rows if row["EntryID"] == entry["EntryID"]}
    assert set(by_number) == {0, 1, 9999}
    assert by_number[0]["AmountFC"] == 121.0
    assert by_number[0]["AmountVATFC"] == 21.0
    assert by_number[1]["AmountFC"] == -100.0
    assert by_number[1]["AmountVATFC"] == -21.0
    assert by_number[9999]["AmountFC"] == -21.0
    assert {row["YourRef"] for row in rows} == {"F0"}
    assert {row["JournalCode"] for row in rows} == {"70"}
    assert set(rows[0]) == {"__metadata", "EntryID", "LineNumber", "AmountFC", "AmountVATFC", "YourRef"} | {
        "JournalCode",
        "Status",
        "Type",
    }


def test_a_bulk_endpoint_pages_by_1000_with_a_next_link_that_keeps_select_and_filter(api, state):
    state.rate_limits_enabled = False
    _entries(api, state, 340)  # 3 ledger lines each: 1,020 rows
    params = {"$select": "ID,LineNumber", "$filter": "JournalCode eq '70'"}
    first = api.get(LINES, params=params).json()["d"]
    assert len(first["results"]) == 1000
    assert "$select=ID%2CLineNumber" in first["__next"]
    assert "JournalCode" in first["__next"]
    assert "$skiptoken=guid" in first["__next"].replace("%24", "$").replace("%27", "'")
    second = api.get(first["__next"]).json()["d"]
    assert len(second["results"]) == 20
    assert "__next" not in second
    assert {r["ID"] for r in first["results"]}.isdisjoint({r["ID"] for r in second["results"]})


def test_a_bulk_endpoint_takes_any_filter_such_as_the_journal_date_and_line_number(api, state):
    _entries(api, state, 2)
    params = {
        "$select": "EntryID,LineNumber,Date",
        "$filter": "JournalCode eq '70' and Date ge datetime'2025-03-01' and Date lt datetime'2025-04-01' "
        "and (LineNumber eq 0 or LineNumber eq 9999)",
    }
    rows = api.get(LINES, params=params).json()["d"]["results"]
    assert sorted(row["LineNumber"] for row in rows) == [0, 0, 9999, 9999]
    params["$filter"] = "Date ge datetime'2025-04-01'"
    assert api.get(LINES, params=params).json()["d"]["results"] == []


def test_the_sync_endpoint_refuses_a_filter_on_anything_but_timestamp(api, state):
    response = api.get(SYNC, params={"$select": "ID", "$filter": "JournalCode eq '70'"})
    assert response.status_code == 400
    assert "Timestamp" in error_text(response)


def test_the_sync_endpoint_without_select_is_refused_with_please_add_a_select(api, state):
    response = api.get(SYNC, params={"$filter": "Timestamp gt 1"})
    assert response.status_code == 400
    assert error_text(response) == "Please add a $select or a $top=1 statement to the query string."


def test_the_sync_endpoint_returns_what_changed_after_a_timestamp_with_a_larger_one(api, state):
    entries = _entries(api, state, 2)
    rows = api.get(SYNC, params={"$select": "ID,EntryID,Timestamp"}).json()["d"]["results"]
    stamps = [int(row["Timestamp"]) for row in rows]  # Edm.Int64 travels as a string [C S5]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert len(rows) == 6
    high = max(stamps)
    assert api.get(SYNC, params={"$select": "ID", "$filter": f"Timestamp gt {high}L"}).json()["d"]["results"] == []
    changed = entries[1]["EntryID"]
    assert api.put(f"salesentry/SalesEntries(guid'{changed}')", json={"Description": "Door de boekhouder"}).is_success
    later = api.get(SYNC, params={"$select": "EntryID,Timestamp", "$filter": f"Timestamp gt {high}"}).json()["d"]
    assert {row["EntryID"] for row in later["results"]} == {changed}
    assert all(int(row["Timestamp"]) > high for row in later["results"])


def test_the_sync_endpoint_pages_by_1000_in_timestamp_order(api, state):
    state.rate_limits_enabled = False
    _entries(api, state, 340)
    first = api.get(SYNC, params={"$select": "ID,Timestamp"}).json()["d"]
    assert len(first["results"]) == 1000
    second = api.get(first["__next"]).json()["d"]
    assert len(second["results"]) == 20
    assert int(second["results"][0]["Timestamp"]) > int(first["results"][-1]["Timestamp"])


def test_sync_deleted_lists_the_lines_of_a_deleted_entry_with_a_later_timestamp(api, state):
    entry = _entries(api, state, 1)[0]
    rows = api.get(SYNC, params={"$select": "ID,Timestamp"}).json()["d"]["results"]
    high = max(int(row["Timestamp"]) for row in rows)
    assert api.delete(f"salesentry/SalesEntries(guid'{entry['EntryID']}')").status_code == 204
    params = {"$select": "EntityKey,EntityType,Timestamp", "$filter": f"Timestamp gt {high}"}
    deleted = api.get("sync/Deleted", params=params).json()["d"]["results"]
    assert {row["EntityKey"] for row in deleted} == {row["ID"] for row in rows}
    assert {row["EntityType"] for row in deleted} == {1}


def test_a_crud_endpoint_switched_to_insist_on_select_refuses_a_bare_list(api, state):
    state.select_required = ["financial/GLAccounts"]
    response = api.get("financial/GLAccounts")
    assert response.status_code == 400
    assert error_text(response) == "Please add a $select or a $top=1 statement to the query string."
    assert api.get("financial/GLAccounts", params={"$select": "ID,Code"}).status_code == 200
    assert api.get("financial/GLAccounts", params={"$top": "1"}).status_code == 200


def test_crud_endpoints_answer_a_bare_list_by_default(api, state):
    assert api.get("financial/GLAccounts").status_code == 200


def test_bulk_and_sync_calls_count_against_the_rate_limits(api, state):
    _entries(api, state, 1)
    before = int(api.get(LINES, params={"$select": "ID"}).headers["X-RateLimit-Minutely-Remaining"])
    after = int(api.get(SYNC, params={"$select": "ID"}).headers["X-RateLimit-Minutely-Remaining"])
    assert after == before - 1
