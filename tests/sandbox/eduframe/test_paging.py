"""Cursor pagination, Link headers and the three array-filter styles."""

from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture
def accounts(state):
    return [state.add_account(f"Account {n:02d}") for n in range(30)]


def test_a_list_is_a_bare_json_array_of_25_by_default(api, accounts):
    response = api.get("/accounts")
    assert isinstance(response.json(), list)
    assert len(response.json()) == 25


def test_a_list_longer_than_per_page_has_an_absolute_next_link(api, server, accounts):
    response = api.get("/accounts", params={"per_page": 10})
    assert response.links["next"]["url"].startswith(f"{server.url}/api/v1/accounts?")


def test_the_last_page_has_no_link_header(api, accounts):
    response = api.get("/accounts", params={"per_page": 30})
    assert "Link" not in response.headers


def test_following_next_links_visits_every_row_once_in_id_order(api, accounts):
    seen, url = [], "/accounts?per_page=7"
    while url:
        response = api.get(url)
        seen += [row["id"] for row in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == [account["id"] for account in accounts]


def test_per_page_above_100_is_clamped_to_100(state, api):
    for n in range(120):
        state.add_account(f"A{n}")
    assert len(api.get("/accounts", params={"per_page": 500}).json()) == 100


def test_per_page_above_100_can_be_configured_to_be_refused(state, api):
    state.per_page_over_max = "reject"
    response = api.get("/accounts", params={"per_page": 101})
    assert response.status_code == 400


def test_a_tampered_cursor_is_a_400(api, accounts):
    response = api.get("/accounts", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"cursor": ["is invalid"]}


def test_the_deprecated_page_parameter_still_pages(api, accounts):
    response = api.get("/accounts", params={"page": 2, "per_page": 10})
    assert response.json()[0]["id"] == accounts[10]["id"]


@pytest.mark.parametrize("query", ["status=open&status=paid", "status[]=open&status[]=paid", "status=open,paid"])
def test_array_filters_work_in_all_three_styles(state, world, api, query):
    for status in ("concept", "open", "paid", "expired"):
        state.add_invoice(world.account["id"], [{"name": "x", "units": 1, "unit_price": "10"}], status=status)
    statuses = sorted(invoice["status"] for invoice in api.get(f"/invoices?{query}").json())
    assert statuses == ["open", "paid"]


def test_an_unknown_invoice_status_is_a_400(api):
    assert api.get("/invoices", params={"status": "draft"}).status_code == 400


def test_invoices_filter_by_account(state, world, api):
    other = state.add_account("Other")
    state.add_invoice(other["id"], [{"name": "x", "units": 1, "unit_price": "10"}])
    mine = state.add_invoice(world.account["id"], [{"name": "x", "units": 1, "unit_price": "10"}])
    rows = api.get("/invoices", params={"account_id": world.account["id"]}).json()
    assert [row["id"] for row in rows] == [mine["id"]]


def test_filters_are_kept_in_the_next_link(state, world, api):
    for _ in range(3):
        state.add_invoice(world.account["id"], [{"name": "x", "units": 1, "unit_price": "10"}], status="open")
    response = api.get("/invoices", params={"status": "open", "per_page": 2})
    assert "status=open" in response.links["next"]["url"]


def test_courses_can_be_searched_by_name_or_code(state, api):
    state.add_course("Excel voor gevorderden", "EXG")
    state.add_course("Agile Scrum Master", "ASM")
    assert [c["code"] for c in api.get("/courses", params={"search": "scrum"}).json()] == ["ASM"]
    assert [c["code"] for c in api.get("/courses", params={"search": "exg"}).json()] == ["EXG"]


def test_a_courses_planned_courses_are_listed_under_it(state, world, api):
    other = state.add_course("Other", "OTH")
    state.add_planned_course(other["id"], date(2026, 10, 1))
    rows = api.get(f"/courses/{world.course['id']}/planned_courses").json()
    assert [row["id"] for row in rows] == [world.edition["id"]]


def test_catalog_variants_filter_by_variantable_type(state, world, api):
    rows = api.get("/catalog/variants", params={"variantable_type": "planned_course"}).json()
    assert rows[0]["variantable_type"] == "PlannedCourse"
    assert rows[0]["variantable_id"] == world.edition["id"]


def test_signup_questions_filter_by_for_type(state, world, api):
    state.add_signup_question("Geboortedatum", for_type="user")
    rows = api.get("/signup_questions", params={"for_type": "account"}).json()
    assert [(row["slug"], row["system_name"]) for row in rows] == [("btw-nummer", "vat_number")]


def test_unknown_filters_are_ignored_by_default(api, accounts):
    assert api.get("/accounts", params={"colour": "blue"}).status_code == 200


def test_unknown_filters_can_be_configured_to_be_refused(state, api):
    state.strict_params = True
    response = api.get("/accounts", params={"colour": "blue"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"colour": ["is not a permitted filter"]}
