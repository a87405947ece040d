"""Reads of an installation's settings: above all, which Exact codes apply to one course line."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.models import CourseOverride, GlobalSettings, Installation


@dataclass(frozen=True)
class Resolved:
    """One effective code and the level it came from: "edition", "template", "global" or "" (none)."""

    value: str
    source: str

    def describe(self) -> str:
        if not self.value:
            return "none"
        return f"{self.value} (from the {self.source})"


@dataclass(frozen=True)
class EffectiveCodes:
    ledger: Resolved
    cost_center: Resolved
    cost_unit: Resolved


NONE = Resolved("", "")


def settings_get(*, installation: Installation) -> GlobalSettings:
    """Return the installation's global settings row, creating an empty one on first use."""
    row, _ = GlobalSettings.objects.get_or_create(installation=installation)
    return row


def overrides_get(*, installation: Installation) -> dict[tuple[str, int], CourseOverride]:
    """All overrides of an installation keyed by (scope, eduframe id): one query for a whole invoice."""
    return {(o.scope, o.eduframe_id): o for o in CourseOverride.objects.filter(installation=installation)}


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
