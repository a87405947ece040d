"""Course templates and editions: the list, the override forms checked against Exact, the effective codes."""

from __future__ import annotations

import pytest

from plugin.models import CourseOverride
from tests.factories import CourseOverrideFactory

pytestmark = pytest.mark.django_db


def _course(world, name="Python for Data Analysis") -> dict:
    return next(c for c in world.state.tables["courses"].values() if c["name"] == name)


def _editions(world, course: dict) -> list[dict]:
    return [e for e in world.state.tables["planned_courses"].values() if e["course_id"] == course["id"]]


def test_it_lists_course_templates_linked_by_name(admin, connected, eduframe_world):
    course = _course(eduframe_world)
    page = admin.get("/settings/courses/").content.decode()
    assert f'<a href="/settings/courses/{course["id"]}/">Python for Data Analysis</a>' in page


def test_it_searches_courses(admin, connected, eduframe_world):
    page = admin.get("/settings/courses/", {"q": "Python"}).content.decode()
    assert "Python for Data Analysis" in page
    assert "Agile Scrum Master" not in page


def test_it_pages_with_the_cursor(admin, connected, eduframe_world, monkeypatch):
    monkeypatch.setattr("plugin.views.courses.PER_PAGE", 5)
    first = admin.get("/settings/courses/")
    assert 'rel="next"' in first.content.decode()
    next_url = first.content.decode().split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = admin.get("/settings/courses/" + next_url.replace("&amp;", "&")).content.decode()
    assert "Projectmanagement Basis" in first.content.decode()
    assert "Projectmanagement Basis" not in second
    assert 'rel="prev"' in second


def test_it_shows_where_each_code_comes_from(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    CourseOverrideFactory(installation=installation, eduframe_id=course["id"], cost_center="CC200")
    page = admin.get("/settings/courses/", {"q": "Python"}).content.decode()
    assert '<code>CC200</code> <span class="src src-template">template</span>' in page
    assert '<code>8000</code> <span class="src src-global">global</span>' in page


def test_it_shows_the_labels_on_the_course_page(admin, connected, eduframe_world):
    course = _course(eduframe_world)
    page = admin.get(f"/settings/courses/{course['id']}/").content.decode()
    for field, label in (("ledger_code", "Ledger code"), ("cost_center", "Cost center"), ("cost_unit", "Cost unit")):
        assert f'<label for="id_{field}">{label}</label>' in page


def test_it_links_the_editions_by_their_dates(admin, connected, eduframe_world):
    course = _course(eduframe_world)
    edition = _editions(eduframe_world, course)[0]
    page = admin.get(f"/settings/courses/{course['id']}/").content.decode()
    assert f'<a href="/settings/editions/{edition["id"]}/">{edition["start_date"].isoformat()}' in page


def test_it_saves_a_template_override(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    data = {"ledger_code": "8010", "cost_center": "CC200", "cost_unit": "PDA"}
    assert admin.post(f"/settings/courses/{course['id']}/", data).status_code == 302
    override = CourseOverride.objects.get(installation=installation, scope="template", eduframe_id=course["id"])
    assert (override.ledger_code, override.cost_center, override.cost_unit) == ("8010", "CC200", "PDA")
    assert override.name == "Python for Data Analysis"


def test_it_refuses_codes_exact_does_not_know(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    data = {"ledger_code": "1300", "cost_center": "CC999", "cost_unit": "NOPE"}
    page = admin.post(f"/settings/courses/{course['id']}/", data).content.decode()
    assert "Ledger 1300 (Debiteuren) is a balance sheet account" in page
    assert "Cost center CC999 does not exist in division 1234567." in page
    assert "Cost unit NOPE does not exist in division 1234567." in page
    assert not CourseOverride.objects.exists()


def test_empty_fields_fall_back(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    CourseOverrideFactory(installation=installation, eduframe_id=course["id"], ledger_code="8010")
    admin.post(f"/settings/courses/{course['id']}/", {"ledger_code": "", "cost_center": "", "cost_unit": ""})
    assert CourseOverride.objects.get().ledger_code == ""
    page = admin.get(f"/settings/courses/{course['id']}/").content.decode()
    assert '<span class="src src-global">global</span>' in page


def test_it_saves_an_edition_override_with_its_course(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    edition = _editions(eduframe_world, course)[0]
    page = admin.get(f"/settings/editions/{edition['id']}/").content.decode()
    assert '<label for="id_cost_center">Cost center</label>' in page
    assert admin.post(f"/settings/editions/{edition['id']}/", {"cost_center": "CC100"}).status_code == 302
    override = CourseOverride.objects.get(scope="edition", eduframe_id=edition["id"])
    assert override.eduframe_course_id == course["id"]
    assert override.name.startswith("Python for Data Analysis, ")


def test_the_edition_page_shows_the_effective_codes_and_their_sources(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    edition = _editions(eduframe_world, course)[0]
    CourseOverrideFactory(installation=installation, eduframe_id=course["id"], cost_unit="PDA")
    CourseOverrideFactory(installation=installation, scope="edition", eduframe_id=edition["id"], cost_center="CC200")
    page = admin.get(f"/settings/editions/{edition['id']}/").content.decode()
    assert '<code>CC200</code></td>\n      <td><span class="src src-edition">edition</span>' in page
    assert '<code>PDA</code></td>\n      <td><span class="src src-template">template</span>' in page
    assert '<code>8000</code></td>\n      <td><span class="src src-global">global</span>' in page


def test_it_answers_404_for_an_unknown_course(admin, connected, eduframe_world):
    assert admin.get("/settings/courses/999999/").status_code == 404


def test_it_answers_404_for_another_installations_edition(admin, other_installation, connected, eduframe_world):
    # The other tenant's edition does not exist in this installation's Eduframe.
    CourseOverrideFactory(installation=other_installation, scope="edition", eduframe_id=888888, cost_center="X")
    assert admin.get("/settings/editions/888888/").status_code == 404
    assert admin.post("/settings/editions/888888/", {"cost_center": "CC100"}).status_code == 404
    assert CourseOverride.objects.get(eduframe_id=888888).cost_center == "X"


def test_it_does_not_show_another_installations_overrides(admin, other_installation, connected, eduframe_world):
    course = _course(eduframe_world)
    CourseOverrideFactory(installation=other_installation, eduframe_id=course["id"], cost_center="CC300")
    page = admin.get(f"/settings/courses/{course['id']}/").content.decode()
    assert "CC300" not in page


def test_it_says_so_when_eduframe_cannot_be_reached(admin, connected, settings):
    settings.EDUFRAME_BASE_URL = "http://127.0.0.1:9"
    response = admin.get("/settings/courses/12/", follow=True)
    assert "Eduframe could not be read" in response.content.decode()
    assert "Eduframe could not list the courses" in admin.get("/settings/courses/").content.decode()


def test_the_course_page_shows_each_editions_own_codes(admin, installation, connected, eduframe_world):
    course = _course(eduframe_world)
    edition = _editions(eduframe_world, course)[0]
    CourseOverrideFactory(installation=installation, scope="edition", eduframe_id=edition["id"], cost_unit="PDA")
    page = admin.get(f"/settings/courses/{course['id']}/").content.decode()
    assert '<code>PDA</code> <span class="src src-edition">edition</span>' in page
