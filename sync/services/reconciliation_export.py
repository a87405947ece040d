"""The report as stored JSON, as text lines for the command, and as CSV for the page and `--csv`.

Both text and CSV follow the contract: one line per difference with the invoice number first, then the
totals of Eduframe and of Exact (count, excl. VAT, VAT, incl. VAT).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from decimal import Decimal

from sync.services.reconciliation_compare import KIND_LABELS, Difference, MonthTotal, Report, Totals


def report_to_json(report: Report) -> dict:
    return _jsonable(asdict(report))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _totals(data: dict) -> Totals:
    return Totals(count=data["count"], excl=Decimal(data["excl"]), vat=Decimal(data["vat"]), incl=Decimal(data["incl"]))


def report_from_json(data: dict) -> Report:
    return Report(
        year=data["year"],
        month=data["month"],
        journal=data["journal"],
        division=data["division"],
        eduframe=_totals(data["eduframe"]),
        exact=_totals(data["exact"]),
        months=[MonthTotal(m["month"], Decimal(m["eduframe"]), Decimal(m["exact"])) for m in data["months"]],
        differences=[Difference(**d) for d in data["differences"]],
    )


def difference_label(difference: Difference) -> str:
    return KIND_LABELS.get(difference.kind, difference.kind)


def _difference_line(d: Difference) -> str:
    parts = [d.number, difference_label(d)]
    if d.eduframe:
        parts.append(f"Eduframe {d.eduframe}")
    if d.exact:
        parts.append(f"Exact {d.exact}")
    if d.detail:
        parts.append(d.detail)
    return "  ".join(parts)


def _totals_line(side: str, totals: Totals, nouns: tuple[str, str], where: str = "") -> str:
    noun = nouns[0] if totals.count == 1 else nouns[1]
    line = (
        f"{side}  {totals.count} {noun}  excl. VAT {totals.excl:.2f}  VAT {totals.vat:.2f}  incl. VAT {totals.incl:.2f}"
    )
    return f"{line}  {where}" if where else line


def report_lines(report: Report) -> list[str]:
    """Plain text: the differences, then Eduframe's totals, then Exact's."""
    lines = [_difference_line(d) for d in report.differences]
    lines.append(_totals_line("Eduframe", report.eduframe, ("invoice", "invoices")))
    where = f"(journal {report.journal}, division {report.division})"
    lines.append(_totals_line("Exact", report.exact, ("entry", "entries"), where))
    return lines


def report_csv(report: Report) -> str:
    """CSV: invoice number, difference, Eduframe amount, Exact amount, detail; then the two totals rows
    (side, count, excl. VAT, VAT, incl. VAT)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for d in report.differences:
        writer.writerow([d.number, difference_label(d), d.eduframe, d.exact, d.detail])
    for side, totals in (("Eduframe total", report.eduframe), ("Exact total", report.exact)):
        writer.writerow([side, totals.count, f"{totals.excl:.2f}", f"{totals.vat:.2f}", f"{totals.incl:.2f}"])
    return out.getvalue()
