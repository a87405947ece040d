"""Saving the global settings, the per-course overrides and the VAT mapping, each checked against Exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from plugin.models import CourseOverride, GlobalSettings, Installation, VatMapping
from plugin.selectors import connection_get, settings_get
from plugin.services.exact_checks import CodeChecker
from plugin.services.exact_connection import ConnectionRefused, division_check


@dataclass(frozen=True)
class GlobalValues:
    division: int
    sync_from: date
    ledger_code: str
    journal_code: str
    discount_ledger_code: str = ""


@dataclass(frozen=True)
class OverrideValues:
    ledger_code: str = ""
    cost_center: str = ""
    cost_unit: str = ""


def global_settings_check(*, installation: Installation, values: GlobalValues) -> dict[str, str]:
    """Return {field: message} for each value Exact refuses; raise ExactUnavailable when it cannot answer."""
    connection = connection_get(installation=installation)
    checker = CodeChecker(installation=installation, connection=connection, division=values.division)
    try:
        division_check(connection=connection, division=values.division)
    except ConnectionRefused as exc:
        return {"division": exc.message}
    problems = {
        "journal_code": checker.check_journal(values.journal_code),
        "ledger_code": checker.check_ledger(values.ledger_code),
    }
    if values.discount_ledger_code:
        problems["discount_ledger_code"] = checker.check_ledger(values.discount_ledger_code, "Discount ledger")
    return {field: message for field, message in problems.items() if message}


def sync_from_moves_back(*, installation: Installation, new_date: date) -> bool:
    """Tell whether a new `Sync from` reaches further into the past than the current one."""
    current = settings_get(installation=installation).sync_from
    return current is not None and new_date < current


def global_settings_save(*, installation: Installation, values: GlobalValues) -> GlobalSettings:
    """Save checked values; sync.signals starts the backfill when `Sync from` moved back."""
    row = settings_get(installation=installation)
    if row.division != values.division:
        connection = connection_get(installation=installation)
        row.division_name = division_check(connection=connection, division=values.division).description
    row.division = values.division
    row.sync_from = values.sync_from
    row.ledger_code = values.ledger_code
    row.journal_code = values.journal_code
    row.discount_ledger_code = values.discount_ledger_code
    row.save()
    return row


def override_check(*, installation: Installation, values: OverrideValues) -> dict[str, str]:
    """Return {field: message} for each filled-in code Exact does not know (or that is no revenue account)."""
    checks = (
        ("ledger_code", values.ledger_code, "check_ledger"),
        ("cost_center", values.cost_center, "check_cost_center"),
        ("cost_unit", values.cost_unit, "check_cost_unit"),
    )
    if not any(value for _field, value, _method in checks):
        return {}
    checker = CodeChecker(
        installation=installation,
        connection=connection_get(installation=installation),
        division=settings_get(installation=installation).division,
    )
    problems = {field: getattr(checker, method)(value) for field, value, method in checks if value}
    return {field: message for field, message in problems.items() if message}


def course_override_set(
    *,
    installation: Installation,
    scope: str,
    eduframe_id: int,
    values: OverrideValues,
    name: str = "",
    eduframe_course_id: int | None = None,
) -> CourseOverride:
    """Create or update the override of one course template or edition (blank fields fall back)."""
    override, _ = CourseOverride.objects.update_or_create(
        installation=installation,
        scope=scope,
        eduframe_id=eduframe_id,
        defaults={
            "name": name,
            "eduframe_course_id": eduframe_course_id,
            "ledger_code": values.ledger_code,
            "cost_center": values.cost_center,
            "cost_unit": values.cost_unit,
        },
    )
    return override


def vat_mapping_save(*, installation: Installation, rates: list, choices: dict[int, str]) -> int:
    """Save the Exact VAT code chosen for each Eduframe VAT rate; return how many rows changed.

    One transaction: the retry of waiting invoices (sync.signals) runs once the whole mapping is saved,
    and a failure halfway keeps the previous mapping instead of a mix.
    """
    changed = 0
    with transaction.atomic():
        for rate in rates:
            code = choices.get(rate.id, "")
            row, created = VatMapping.objects.get_or_create(installation=installation, eduframe_vat_id=rate.id)
            if created or row.exact_vat_code != code or row.eduframe_name != rate.name:
                row.exact_vat_code = code
                row.eduframe_name = rate.name
                row.percentage = rate.percentage
                row.save()
                changed += 1
    return changed
