"""Pure mapping of one Eduframe invoice to the Exact sales entry we mean to book (no I/O here).

The plan holds codes, never Exact GUIDs: the writer resolves the GL account's GUID and the account/document
ids. That keeps the plan, and so the fingerprint, stable across divisions' internal ids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from plugin.selectors import Resolved, effective_codes
from sync.services import exact_text
from sync.services.plan_vat import cents, line_vat_amounts, vat_choose

if TYPE_CHECKING:
    from plugin.models import CourseOverride, GlobalSettings
    from sync.eduframe.entities import Account, Invoice, InvoiceItem, InvoiceVat
    from sync.exact.entities import VatCode

# (course template id, planned course id) of an invoice item; either may be unknown.
CourseIds = tuple[int | None, int | None]

# Eduframe names a discount item after the code ("Korting: SUMMER"); a negative item on a positive invoice
# is a discount too, whatever its name.
DISCOUNT_NAME_PREFIXES = ("korting:", "discount:")
SETTING_HINT = "Fill in '{label}' on the settings page."


@dataclass(frozen=True)
class Problem:
    """A functional problem that stops the booking: why, in plain words, and what to fix."""

    reason: str
    fix_hint: str


@dataclass(frozen=True)
class PlannedAccount:
    """The Exact account fields for the invoice's Eduframe account."""

    code: str
    name: str
    email: str
    address_line1: str
    postcode: str
    city: str
    country: str
    vat_number: str

    def exact_fields(self) -> dict[str, str]:
        """Return the fields as Exact names them (`Status` C: only customers can be booked on)."""
        return {
            "Code": self.code,
            "Name": self.name,
            "Status": "C",
            "Email": self.email,
            "AddressLine1": self.address_line1,
            "Postcode": self.postcode,
            "City": self.city,
            "Country": self.country,
            "VATNumber": self.vat_number,
        }


@dataclass(frozen=True)
class PlannedLine:
    """One sales entry line: amounts excluding VAT, codes, and which rule chose each code."""

    description: str
    quantity: Decimal
    amount_fc: Decimal
    vat_code: str
    vat_amount_fc: Decimal
    ledger_code: str
    cost_center: str
    cost_unit: str
    is_discount: bool
    decisions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EntryPlan:
    """The whole planned entry; `problems` non-empty means: do not call Exact."""

    eduframe_invoice_id: int
    eduframe_account_id: int
    division: int | None
    journal_code: str
    entry_date: date | None
    due_date: date | None
    your_ref: str
    description: str
    payment_reference: str
    account: PlannedAccount
    lines: tuple[PlannedLine, ...]
    total_incl: Decimal
    pdf_fields: dict[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    # What was cut, converted or left out to fit Exact (derived from the fields above: not fingerprinted).
    notes: tuple[str, ...] = ()

    @property
    def decisions(self) -> list[dict]:
        """Per line: which rule chose the ledger, cost center, cost unit and VAT code; then the notes."""
        return [{"line": line.description, **line.decisions} for line in self.lines] + [
            {"line": note} for note in self.notes
        ]


def _text(value) -> str:
    return "" if value is None else str(value)


def _rule(resolved: Resolved, course_id, edition_id) -> str:
    ids = {"edition": edition_id, "template": course_id}
    if not resolved.value:
        return "none"
    return "global" if resolved.source == "global" else f"{resolved.source} {ids[resolved.source]}"


def planned_account(account: Account, vat_number: str, notes: list[str], fallback_name: str = "") -> PlannedAccount:
    """Map an Eduframe account (its address is the billing address) to Exact's account fields, fitted to Exact."""
    address = getattr(account, "address", None)
    street = " ".join(
        p for p in (_text(getattr(address, "address", "")), _text(getattr(address, "address_line2", ""))) if p
    )
    name, name_note = exact_text.account_name(_text(account.name), fallback_name, account.id)
    country, country_note = exact_text.country_code(_text(getattr(address, "country", "")))
    raw = {
        "Name": name,
        "Email": _text(account.email).strip(),
        "AddressLine1": street,
        "Postcode": _text(getattr(address, "postal_code", "")).strip(),
        "City": _text(getattr(address, "city", "")).strip(),
        "VATNumber": _text(vat_number).strip(),
    }
    fitted, fit_notes = exact_text.account_texts(raw)
    notes.extend(n for n in (name_note, country_note, *fit_notes) if n)
    return PlannedAccount(
        code=f"EF{account.id}",
        name=fitted["Name"],
        email=fitted["Email"],
        address_line1=fitted["AddressLine1"],
        postcode=fitted["Postcode"],
        city=fitted["City"],
        country=country,
        vat_number=fitted["VATNumber"],
    )


def entry_description(invoice: Invoice) -> str:
    """Eduframe's description (or "Invoice {number}") with the feature appended: accountants search on it."""
    text = _text(invoice.description) or f"Invoice {invoice.number}"
    return exact_text.entry_description(text, _text(invoice.feature))


def _is_discount(item: InvoiceItem, amount: Decimal, invoice_positive: bool) -> bool:
    named = _text(item.name).strip().lower().startswith(DISCOUNT_NAME_PREFIXES)
    return named or (amount < 0 and invoice_positive)


def settings_problems(global_settings: GlobalSettings) -> list[Problem]:
    """Name each empty global setting the booking needs, by its label on the settings page."""
    needed = (("division", "Division"), ("journal_code", "Journal code"), ("sync_from", "Sync from"))
    return [
        Problem(f"The setting '{label}' is empty.", SETTING_HINT.format(label=label))
        for name, label in needed
        if not getattr(global_settings, name)
    ]


@dataclass
class _Context:
    global_settings: GlobalSettings
    overrides: dict[tuple[str, int], CourseOverride]
    item_courses: dict[int, CourseIds]
    vat_rates: dict[int, InvoiceVat]
    vat_mappings: dict[int, str]
    sales_vat_codes: list[VatCode]
    problems: list[Problem] = field(default_factory=list)
    last_course: CourseIds = (None, None)


def _codes(ctx: _Context, item: InvoiceItem, is_discount: bool) -> tuple[str, str, str, dict[str, str]]:
    course_id, edition_id = ctx.item_courses.get(item.id) or (None, None)
    if course_id or edition_id:
        ctx.last_course = (course_id, edition_id)
    elif is_discount:
        # A discount item has no course of its own: it discounts the course line before it.
        course_id, edition_id = ctx.last_course
    codes = effective_codes(
        global_settings=ctx.global_settings, overrides=ctx.overrides, course_id=course_id, edition_id=edition_id
    )
    ledger, ledger_rule = codes.ledger.value, _rule(codes.ledger, course_id, edition_id)
    if is_discount:
        if ctx.global_settings.discount_ledger_code:
            ledger, ledger_rule = ctx.global_settings.discount_ledger_code, "discount ledger"
        return ledger, "", "", {"ledger": ledger_rule, "cost_center": "discount line", "cost_unit": "discount line"}
    decisions = {
        "ledger": ledger_rule,
        "cost_center": _rule(codes.cost_center, course_id, edition_id),
        "cost_unit": _rule(codes.cost_unit, course_id, edition_id),
    }
    return ledger, codes.cost_center.value, codes.cost_unit.value, decisions


def _line(
    ctx: _Context, item: InvoiceItem, invoice_positive: bool, vat_amount: Decimal, amount: Decimal
) -> PlannedLine:
    is_discount = _is_discount(item, amount, invoice_positive)
    ledger, cost_center, cost_unit, decisions = _codes(ctx, item, is_discount)
    if not ledger:
        ctx.problems.append(
            Problem(
                f"No ledger for the line '{item.name}': the setting 'Ledger code' is empty.",
                "Fill in 'Ledger code' on the settings page, or on the line's course template or edition.",
            )
        )
    choice = vat_choose(
        line=item.name,
        vat_id=item.invoice_vat_id,
        rate=_rate(ctx, item),
        mappings=ctx.vat_mappings,
        sales_vat_codes=ctx.sales_vat_codes,
        division=ctx.global_settings.division,
    )
    if choice.problem:
        ctx.problems.append(Problem(choice.problem, choice.advice))
    return PlannedLine(
        description=exact_text.line_description(_text(item.name)),
        quantity=Decimal(str(item.units)),
        amount_fc=amount,
        vat_code=choice.code,
        vat_amount_fc=vat_amount,
        ledger_code=ledger,
        cost_center=cost_center,
        cost_unit=cost_unit,
        is_discount=is_discount,
        decisions={**decisions, "vat_code": choice.rule or "none"},
    )


def _rate(ctx: _Context, item: InvoiceItem) -> InvoiceVat | None:
    return ctx.vat_rates.get(item.invoice_vat_id) if item.invoice_vat_id is not None else None


def _percentage(ctx: _Context, item: InvoiceItem) -> Decimal:
    rate = _rate(ctx, item)
    return Decimal(str(rate.percentage)) if rate is not None and getattr(rate, "has_vat", True) else Decimal(0)


def entry_plan_build(
    *,
    invoice: Invoice,
    account: Account,
    vat_number: str,
    vat_rates: dict[int, InvoiceVat],
    item_courses: dict[int, CourseIds],
    global_settings: GlobalSettings,
    overrides: dict[tuple[str, int], CourseOverride],
    vat_mappings: dict[int, str],
    sales_vat_codes: list[VatCode],
) -> EntryPlan:
    """Map an Eduframe invoice and its account to an `EntryPlan`, collecting problems instead of raising."""
    ctx = _Context(global_settings, overrides, item_courses, vat_rates, vat_mappings, list(sales_vat_codes))
    ctx.problems.extend(settings_problems(global_settings))
    items = list(invoice.items)
    if not items:
        # Exact refuses an entry without lines; saying so here spares one of its error answers.
        ctx.problems.append(Problem("The invoice has no lines.", "Add the invoice's items in Eduframe."))
    amounts = [cents(Decimal(str(item.units)) * Decimal(str(item.unit_price))) for item in items]
    total_incl = Decimal(str(invoice.total_incl)) if invoice.total_incl is not None else None
    # The VAT to book is what makes the entry total equal Eduframe's total_incl to the cent.
    vat_total = total_incl - sum(amounts, Decimal(0)) if total_incl is not None else None
    vats = line_vat_amounts(amounts, [_percentage(ctx, item) for item in items], vat_total)
    positive = (total_incl if total_incl is not None else sum(amounts, Decimal(0))) > 0
    lines = tuple(
        _line(ctx, item, positive, vat, amount) for item, vat, amount in zip(items, vats, amounts, strict=True)
    )
    notes: list[str] = []
    your_ref, ref_note = exact_text.your_ref(_text(invoice.number))
    reference, reference_note = exact_text.payment_reference(_text(invoice.reference_id))
    account_fields = planned_account(account, vat_number, notes, _text(invoice.account_name))
    return EntryPlan(
        eduframe_invoice_id=invoice.id,
        eduframe_account_id=account.id,  # the account read by the invoice's account_id
        division=global_settings.division,
        journal_code=global_settings.journal_code,
        entry_date=invoice.opened_at,
        due_date=invoice.expiration_date,
        your_ref=your_ref,
        description=entry_description(invoice),
        payment_reference=reference,
        account=account_fields,
        lines=lines,
        total_incl=sum((line.amount_fc + line.vat_amount_fc for line in lines), Decimal(0)),
        pdf_fields=_pdf_fields(invoice),
        problems=tuple(ctx.problems),
        notes=tuple(n for n in (ref_note, reference_note, *notes) if n),
    )


def _pdf_fields(invoice: Invoice) -> dict[str, str]:
    """Fields printed on the PDF beyond the entry's own: a change in them means a new attachment."""
    raw = getattr(invoice, "raw", None) or {}
    return {"account_name": _text(invoice.account_name), "footnote": _text(raw.get("footnote"))}


def fingerprint(plan: EntryPlan) -> str:
    """Hash the canonical plan (account and PDF fields included, problems excluded) so no-ops cost no call."""
    data = asdict(plan)
    data.pop("problems")
    data.pop("notes")
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
