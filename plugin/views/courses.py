"""Course templates and editions: a searchable, paged list, and one override form per template/edition."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from plugin.decorators import installation_required
from plugin.forms import OverrideForm
from plugin.models import CourseOverride
from plugin.selectors import codes_rows, course_rows, edition_codes, edition_rows, override_get, template_codes
from plugin.services.audit import audit_record, changes_summary
from plugin.services.exact_checks import ExactUnavailable
from plugin.services.settings_save import OverrideValues, course_override_set, override_check
from sync.connections.eduframe import eduframe_client
from sync.errors import NotFoundError, SyncError

PER_PAGE = 25


def _eduframe_get(call, record_id: int):
    """Read one record from this installation's Eduframe; unknown there (another tenant's id) is a 404."""
    try:
        found = call(record_id)
    except NotFoundError as exc:
        raise Http404("Not found in this Eduframe environment.") from exc
    if found is None:
        raise Http404("Not found in this Eduframe environment.")
    return found


@require_GET
@installation_required
def course_list(request):
    search = request.GET.get("q", "").strip()
    cursor = request.GET.get("cursor") or None
    trail = [c for c in request.GET.getlist("back") if c]
    try:
        courses, next_cursor = eduframe_client(request.installation).reference.courses_page(
            search=search or None, cursor=cursor, per_page=PER_PAGE
        )
    except SyncError as exc:
        messages.error(request, f"Eduframe could not list the courses: {exc.message}")
        courses, next_cursor = [], None
    context = {
        "rows": course_rows(installation=request.installation, courses=courses),
        "search": search,
        "cursor": cursor,
        "next_cursor": next_cursor,
        "trail": trail,
        "previous_cursor": trail[-1] if trail else None,
        "previous_trail": trail[:-1],
    }
    return render(request, "plugin/courses/list.html", context)


def _override_form(request, *, scope, eduframe_id, name, course_id=None):
    """Handle the three-field override form; return (form, redirect response or None)."""
    existing = override_get(installation=request.installation, scope=scope, eduframe_id=eduframe_id)
    initial = {f: getattr(existing, f) for f in ("ledger_code", "cost_center", "cost_unit")} if existing else {}
    form = OverrideForm(request.POST or None, initial=initial)
    if request.method != "POST" or not form.is_valid():
        return form, None
    values = OverrideValues(**form.cleaned_data)
    try:
        problems = override_check(installation=request.installation, values=values)
    except ExactUnavailable as exc:
        messages.error(request, exc.message)
        return form, None
    for field, message in problems.items():
        form.add_error(field, message)
    if problems:
        return form, None
    fields = {"ledger_code": "Ledger code", "cost_center": "Cost center", "cost_unit": "Cost unit"}
    summary = changes_summary(
        {label: initial.get(name, "") for name, label in fields.items()},
        {label: getattr(values, name) for name, label in fields.items()},
    )
    course_override_set(
        installation=request.installation,
        scope=scope,
        eduframe_id=eduframe_id,
        values=values,
        name=name,
        eduframe_course_id=course_id,
    )
    where = "Course template" if scope == CourseOverride.Scope.TEMPLATE else "Course edition"
    audit_record(request=request, action=f"{where} overrides saved", summary=f"{name} ({eduframe_id}): {summary}")
    messages.success(request, f"Saved the Exact Online codes of {name}.")
    return form, redirect(request.path)


def eduframe_errors(view):
    """Turn an Eduframe failure (other than a 404) into a message on the course list."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SyncError as exc:
            messages.error(request, f"Eduframe could not be read: {exc.message}")
            return redirect("courses")

    return wrapper


@require_http_methods(["GET", "POST"])
@installation_required
@eduframe_errors
def course_detail(request, course_id: int):
    client = eduframe_client(request.installation)
    course = _eduframe_get(client.reference.get_course, course_id)
    form, done = _override_form(request, scope=CourseOverride.Scope.TEMPLATE, eduframe_id=course.id, name=course.name)
    if done:
        return done
    editions = list(client.reference.planned_courses_of(course.id))
    context = {
        "course": course,
        "form": form,
        "codes_rows": codes_rows(template_codes(installation=request.installation, course_id=course.id)),
        "edition_rows": edition_rows(installation=request.installation, course_id=course.id, editions=editions),
    }
    return render(request, "plugin/courses/course.html", context)


@require_http_methods(["GET", "POST"])
@installation_required
@eduframe_errors
def edition_detail(request, edition_id: int):
    client = eduframe_client(request.installation)
    edition = _eduframe_get(client.reference.get_planned_course, edition_id)
    course = _eduframe_get(client.reference.get_course, edition.course_id)
    name = f"{course.name}, {edition.name}"
    form, done = _override_form(
        request, scope=CourseOverride.Scope.EDITION, eduframe_id=edition.id, name=name, course_id=course.id
    )
    if done:
        return done
    context = {
        "course": course,
        "edition": edition,
        "edition_name": name,
        "form": form,
        "codes_rows": codes_rows(
            edition_codes(installation=request.installation, course_id=course.id, edition_id=edition.id)
        ),
    }
    return render(request, "plugin/courses/edition.html", context)
