"""`/admin/` is for staff only (contract: HTTP entry points)."""

from __future__ import annotations

import pytest

from tests.contract.harness import http

pytestmark = pytest.mark.contract


def test_the_admin_sends_an_anonymous_visitor_to_the_login_page(service):
    answer = http("GET", f"{service.url}/admin/")
    assert answer.status == 302
    assert answer.headers["Location"].startswith("/admin/login/")


def test_the_admin_sends_a_plugin_administrator_who_is_not_staff_to_the_login_page(installed):
    page = installed.page
    page.goto(f"{installed.service.url}/admin/")
    assert "/admin/login/" in page.url
