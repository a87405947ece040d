"""The install in a real browser: Eduframe token, Connect Exact Online, Approve, the division, then the settings
and one course template's and one edition's overrides, every field found by its label (contract: settings UI)."""

from __future__ import annotations

import pytest

from tests.contract.conftest import DIVISION, EDITION_CODES, JOURNAL, LEDGER, TEMPLATE_CODES

pytestmark = [pytest.mark.contract, pytest.mark.browser]


def test_an_administrator_installs_connects_exact_and_saves_the_settings_by_label(installed):
    expected = {"Division": str(DIVISION), "Sync from": installed.sync_from.isoformat(), "Ledger code": LEDGER}
    assert installed.filled["settings read back"] == {**expected, "Journal code": JOURNAL}


def test_a_course_template_page_reached_by_its_name_keeps_its_codes(installed):
    assert "/settings/courses/" in installed.filled["course url"]
    assert installed.filled["course read back"] == TEMPLATE_CODES


def test_an_edition_page_reached_from_its_template_keeps_its_codes(installed):
    assert "/settings/editions/" in installed.filled["edition url"]
    assert installed.filled["edition read back"] == EDITION_CODES


def test_the_install_registers_the_webhook_on_eduframe_with_the_public_url(installed):
    webhooks = installed.service.eduframe.state()["webhooks"]
    assert any(w["url"] == installed.webhook_url for w in webhooks), webhooks


def test_each_edition_is_linked_from_its_template_by_its_start_date(installed):
    # Contract: an edition's page is linked from its template's page "by the edition's name or start date";
    # the demo's editions have no name of their own, so each link is named exactly by its start date.
    page, service = installed.page, installed.service
    starts = {edition["id"]: edition["start_date"] for edition in service.eduframe.state()["planned_courses"]}
    page.goto(installed.filled["course url"])
    links = page.locator("a[href*='/settings/editions/']")
    assert links.count() > 1
    for index in range(links.count()):
        link = links.nth(index)
        edition_id = int(link.get_attribute("href").rstrip("/").rsplit("/", 1)[1])
        assert link.inner_text().strip() == starts[edition_id]
