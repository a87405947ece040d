"""Every administrator page belongs to the installation of the browser session, and to nobody else."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PAGES = [
    "/settings/",
    "/settings/vat/",
    "/settings/exact/connect",
    "/settings/exact/division",
    "/settings/courses/",
    "/settings/courses/1/",
    "/settings/editions/1/",
    "/settings/log/",
    "/settings/log/1/",
    "/settings/log/preview/1/",
    "/exact/callback",
]


@pytest.mark.parametrize("url", PAGES)
def test_it_asks_to_open_the_plugin_from_eduframe_without_a_session(client, url):
    response = client.get(url)
    assert response.status_code == 403
    assert "Open EduExact from Eduframe" in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/settings/log/1/retry", "/settings/log/retry-attention", "/settings/exact/disconnect"]
)
def test_it_refuses_posts_without_a_session(client, url):
    assert client.post(url).status_code == 403


def test_it_refuses_a_session_of_a_deactivated_installation(admin, installation):
    installation.is_active = False
    installation.save()
    assert admin.get("/settings/").status_code == 403


def test_the_root_leads_to_the_settings(admin):
    response = admin.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/settings/"
