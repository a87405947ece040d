"""Reads of an installation's settings: above all, which Exact codes apply to one course line."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.models import CourseOverride, GlobalSettings, Installation
from sync.compiled_read import CompiledRead


@dataclass(frozen=True)
class Resolved:
    """One effective code and the level it came from: "edition", "template", "global" or "" (none)."""

    value: str
    source: str


@dataclass(frozen=True)
class EffectiveCodes:
    ledger: Resolved
    cost_center: Resolved
    cost_unit: Resolved


NONE = Resolved("", "")


def settings_get(*, installation: Installation) -> GlobalSettings:
    """Return the installation's global settings row, creating an empty one on first use."""
    found = _SETTINGS.rows(installation.pk)  # every booking reads them: compiled once (sync/compiled_read.py)
    if found:
        return found[0]
    row, _ = GlobalSettings.objects.get_or_create(installation=installation)
    return row


_SETTINGS = CompiledRead(lambda installation_id: GlobalSettings.objects.filter(installation_id=installation_id))
_OVERRIDES = CompiledRead(lambda installation_id: CourseOverride.objects.filter(installation_id=installation_id))


def overrides_get(*, installation: Installation) -> dict[tuple[str, int], CourseOverride]:
    """All overrides of an installation keyed by (scope, eduframe id): one query for a whole invoice."""
    return {(o.scope, o.eduframe_id): o for o in _OVERRIDES.rows(installation.pk)}


def _first(field: str, *rows: tuple[str, CourseOverride | None]) -> Resolved:
    for source, row in rows:
        value = getattr(row, field, "") if row is not None else ""
        if value:
            return Resolved(value, source)
    return NONE


def effective_codes(
    *,
    global_settings: GlobalSettings,
    overrides: dict[tuple[str, int], CourseOverride],
    course_id: int | None,
    edition_id: int | None,
) -> EffectiveCodes:
    """Resolve each field on its own: course edition, else course template, else (ledger only) global."""
    edition = overrides.get((CourseOverride.Scope.EDITION, edition_id)) if edition_id else None
    template = overrides.get((CourseOverride.Scope.TEMPLATE, course_id)) if course_id else None
    levels = (("edition", edition), ("template", template))
    ledger = _first("ledger_code", *levels)
    if not ledger.value and global_settings.ledger_code:
        ledger = Resolved(global_settings.ledger_code, "global")
    return EffectiveCodes(
        ledger=ledger,
        cost_center=_first("cost_center", *levels),
        cost_unit=_first("cost_unit", *levels),
    )


# --- Reads for the administrator's pages -------------------------------------------------------


def installation_from_session(*, session) -> Installation | None:
    """Return the active installation the browser session is bound to, if any."""
    from plugin.services.admin_sessions import session_epoch_valid

    installation_id = session.get("installation_id")
    if not installation_id:
        return None
    installation = Installation.objects.filter(pk=installation_id, is_active=True).first()
    # Signed out everywhere since this browser signed in: no longer an administrator.
    if installation is None or not session_epoch_valid(session=session, installation=installation):
        return None
    return installation


def connection_get(*, installation: Installation):
    """Return the installation's Exact connection, or None before the first connect."""
    from plugin.models import ExactConnection

    return ExactConnection.objects.filter(installation=installation).first()


def override_get(*, installation: Installation, scope: str, eduframe_id: int) -> CourseOverride | None:
    """Return the override of one course template or edition of this installation, if saved."""
    return CourseOverride.objects.filter(installation=installation, scope=scope, eduframe_id=eduframe_id).first()


def vat_mappings_get(*, installation: Installation) -> dict[int, str]:
    """The saved VAT mapping: Eduframe VAT rate id -> Exact VAT code."""
    from plugin.models import VatMapping

    rows = VatMapping.objects.filter(installation=installation)
    return {row.eduframe_vat_id: row.exact_vat_code for row in rows}


def vat_suggestions(*, rates, vat_codes) -> dict[int, str]:
    """Suggest, per Eduframe VAT rate, the one Exact sales VAT code with the same percentage (if unique)."""
    from sync.services.plan_vat import codes_with_percentage

    suggestions = {}
    for rate in rates:
        same = codes_with_percentage(rate, vat_codes)
        if len(same) == 1:
            suggestions[rate.id] = same[0].code
    return suggestions


def _codes(installation: Installation, course_id: int | None, edition_id: int | None) -> EffectiveCodes:
    return effective_codes(
        global_settings=settings_get(installation=installation),
        overrides=overrides_get(installation=installation),
        course_id=course_id,
        edition_id=edition_id,
    )


def template_codes(*, installation: Installation, course_id: int) -> EffectiveCodes:
    """The codes an invoice line of this course template gets (no edition override)."""
    return _codes(installation, course_id, None)


def edition_codes(*, installation: Installation, course_id: int, edition_id: int) -> EffectiveCodes:
    """The codes an invoice line of this course edition gets."""
    return _codes(installation, course_id, edition_id)


def course_rows(*, installation: Installation, courses) -> list[tuple]:
    """Pair each course template with its effective codes, reading the settings and overrides once."""
    global_settings = settings_get(installation=installation)
    overrides = overrides_get(installation=installation)
    return [
        (
            course,
            effective_codes(global_settings=global_settings, overrides=overrides, course_id=course.id, edition_id=None),
        )
        for course in courses
    ]


def exact_entry_url(*, connection, record) -> str:
    """A link that opens the booked entry in Exact Online (the entry card, by EntryID and division)."""
    if connection is None or not record.exact_entry_id or not record.exact_division:
        return ""
    from sync.exact.regions import exact_base_url

    base = exact_base_url(connection.base_url)
    return f"{base}/docs/FinTransactionEntry.aspx?_Division_={record.exact_division}&EntryID={record.exact_entry_id}"


def codes_rows(codes: EffectiveCodes) -> list[tuple[str, Resolved]]:
    """The effective codes labelled as on the settings pages, for a table."""
    return [("Ledger code", codes.ledger), ("Cost center", codes.cost_center), ("Cost unit", codes.cost_unit)]


def edition_rows(*, installation: Installation, course_id: int, editions) -> list[tuple]:
    """Pair each edition of a course with its effective codes."""
    global_settings = settings_get(installation=installation)
    overrides = overrides_get(installation=installation)
    return [
        (
            edition,
            effective_codes(
                global_settings=global_settings, overrides=overrides, course_id=course_id, edition_id=edition.id
            ),
        )
        for edition in editions
    ]
