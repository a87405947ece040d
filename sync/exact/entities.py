"""Exact Online entities, parsed strictly from API rows (OData v2 verbose JSON).

A row missing a field we selected means Exact (or a double) answered in a shape we do not understand:
that raises FunctionalError rather than booking on guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from sync.errors import FunctionalError

_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_exact_date(value: Any) -> date | None:
    """Parse `/Date(ms)/`: Amsterdam wall-clock time encoded as UTC, so the UTC date is the user's date."""
    if value in (None, ""):
        return None
    match = _DATE_RE.match(str(value))
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise FunctionalError(f"Exact Online sent a date we cannot read: {value!r}") from exc


def _field(row: dict, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, TypeError) as exc:
        raise FunctionalError(f"Exact Online's answer lacks the field {name}.") from exc


def _uuid(row: dict, name: str) -> UUID:
    try:
        return UUID(str(_field(row, name)))
    except ValueError as exc:
        raise FunctionalError(f"Exact Online sent an invalid {name}: {row[name]!r}") from exc


def _opt_uuid(row: dict, name: str) -> UUID | None:
    return None if _field(row, name) in (None, "") else _uuid(row, name)


def _decimal(row: dict, name: str) -> Decimal:
    value = _field(row, name)
    try:
        return Decimal(str(value if value is not None else 0))
    except InvalidOperation as exc:
        raise FunctionalError(f"Exact Online sent an invalid {name}: {value!r}") from exc


def _int(row: dict, name: str) -> int:
    value = _field(row, name)
    return int(value) if value not in (None, "") else 0


def _opt_int(row: dict, name: str) -> int | None:
    value = _field(row, name)
    return int(value) if value not in (None, "") else None


def _str(row: dict, name: str) -> str:
    value = _field(row, name)
    return "" if value is None else str(value)


def _stripped(row: dict, name: str) -> str:
    return _str(row, name).strip()


def _results(value: Any) -> list[dict]:
    """Return the rows of an expanded child collection (`{"results": [...]}` or a bare list)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        return value["results"]
    raise FunctionalError("Exact Online did not expand the lines of the sales entry.")


@dataclass(frozen=True)
class ExactMe:
    user_id: str
    full_name: str
    email: str
    current_division: int

    @classmethod
    def from_api(cls, row: dict) -> ExactMe:
        return cls(_str(row, "UserID"), _str(row, "FullName"), _str(row, "Email"), _int(row, "CurrentDivision"))


@dataclass(frozen=True)
class ExactDivision:
    code: int
    description: str

    @classmethod
    def from_api(cls, row: dict) -> ExactDivision:
        return cls(_int(row, "Code"), _str(row, "Description"))


@dataclass(frozen=True)
class Journal:
    code: str
    description: str
    type: int
    blocked: bool = False

    @classmethod
    def from_api(cls, row: dict) -> Journal:
        return cls(_stripped(row, "Code"), _str(row, "Description"), _int(row, "Type"), bool(row.get("IsBlocked")))


@dataclass(frozen=True)
class GLAccount:
    id: UUID
    code: str
    description: str
    type: int
    balance_type: str
    use_cost_center: int
    use_cost_unit: int
    vat_code: str
    blocked: bool = False

    @classmethod
    def from_api(cls, row: dict) -> GLAccount:
        return cls(
            id=_uuid(row, "ID"),
            code=_stripped(row, "Code"),
            description=_str(row, "Description"),
            type=_int(row, "Type"),
            balance_type=_stripped(row, "BalanceType"),
            use_cost_center=_int(row, "UseCostcenter"),
            use_cost_unit=_int(row, "UseCostunit"),
            vat_code=_stripped(row, "VATCode"),
            blocked=bool(row.get("IsBlocked")),
        )


@dataclass(frozen=True)
class CostCenter:
    code: str
    description: str

    @classmethod
    def from_api(cls, row: dict) -> CostCenter:
        return cls(_stripped(row, "Code"), _str(row, "Description"))


@dataclass(frozen=True)
class CostUnit:
    code: str
    description: str

    @classmethod
    def from_api(cls, row: dict) -> CostUnit:
        return cls(_stripped(row, "Code"), _str(row, "Description"))


@dataclass(frozen=True)
class VatCode:
    code: str
    description: str
    percentage: Decimal
    type: str
    transaction_type: str
    blocked: bool = False

    @classmethod
    def from_api(cls, row: dict) -> VatCode:
        return cls(
            code=_stripped(row, "Code"),
            description=_str(row, "Description"),
            percentage=_decimal(row, "Percentage"),
            type=_stripped(row, "Type"),
            transaction_type=_stripped(row, "VATTransactionType"),
            blocked=bool(row.get("IsBlocked")),
        )


@dataclass(frozen=True)
class ExactAccount:
    id: UUID
    code: str
    name: str
    email: str
    status: str
    vat_number: str
    address_line1: str
    postcode: str
    city: str
    country: str

    @classmethod
    def from_api(cls, row: dict) -> ExactAccount:
        return cls(
            id=_uuid(row, "ID"),
            code=_stripped(row, "Code"),
            name=_str(row, "Name"),
            email=_str(row, "Email"),
            status=_stripped(row, "Status"),
            vat_number=_str(row, "VATNumber"),
            address_line1=_str(row, "AddressLine1"),
            postcode=_str(row, "Postcode"),
            city=_str(row, "City"),
            country=_stripped(row, "Country"),
        )


@dataclass(frozen=True)
class SalesEntryLine:
    id: UUID
    gl_account: UUID
    amount_fc: Decimal
    vat_code: str
    vat_amount_fc: Decimal
    description: str
    quantity: Decimal | None
    cost_center: str
    cost_unit: str

    @classmethod
    def from_api(cls, row: dict) -> SalesEntryLine:
        quantity = row.get("Quantity")
        return cls(
            id=_uuid(row, "ID"),
            gl_account=_uuid(row, "GLAccount"),
            amount_fc=_decimal(row, "AmountFC"),
            vat_code=_stripped(row, "VATCode"),
            vat_amount_fc=_decimal(row, "VATAmountFC"),
            description=_str(row, "Description"),
            quantity=None if quantity is None else Decimal(str(quantity)),
            cost_center=_stripped(row, "CostCenter"),
            cost_unit=_stripped(row, "CostUnit"),
        )


@dataclass(frozen=True)
class SalesEntry:
    entry_id: UUID
    entry_number: int | None
    your_ref: str
    customer: UUID
    journal: str
    description: str
    entry_date: date | None
    due_date: date | None
    document: UUID | None
    amount_fc: Decimal
    vat_amount_fc: Decimal
    status: int | None
    type: int | None
    lines: tuple[SalesEntryLine, ...]

    @classmethod
    def from_api(cls, row: dict, lines: tuple[SalesEntryLine, ...] | None = None) -> SalesEntry:
        """Parse a sales entry; its lines come from the expanded collection unless given."""
        if lines is None:
            lines = tuple(SalesEntryLine.from_api(line) for line in _results(_field(row, "SalesEntryLines")))
        return cls(
            entry_id=_uuid(row, "EntryID"),
            entry_number=_opt_int(row, "EntryNumber"),
            your_ref=_str(row, "YourRef"),
            customer=_uuid(row, "Customer"),
            journal=_stripped(row, "Journal"),
            description=_str(row, "Description"),
            entry_date=parse_exact_date(_field(row, "EntryDate")),
            due_date=parse_exact_date(_field(row, "DueDate")),
            document=_opt_uuid(row, "Document"),
            amount_fc=_decimal(row, "AmountFC"),
            vat_amount_fc=_decimal(row, "VATAmountFC"),
            status=_opt_int(row, "Status"),
            type=_opt_int(row, "Type"),
            lines=lines,
        )


@dataclass(frozen=True)
class ExactDocument:
    id: UUID
    subject: str
    type: int

    @classmethod
    def from_api(cls, row: dict) -> ExactDocument:
        return cls(_uuid(row, "ID"), _str(row, "Subject"), _int(row, "Type"))


@dataclass(frozen=True)
class ExactAttachment:
    id: UUID
    document: UUID
    file_name: str
    file_size: int
    url: str

    @classmethod
    def from_api(cls, row: dict) -> ExactAttachment:
        return cls(
            id=_uuid(row, "ID"),
            document=_uuid(row, "Document"),
            file_name=_str(row, "FileName"),
            file_size=int(float(_field(row, "FileSize") or 0)),
            url=_str(row, "Url"),
        )


def has_deferred_lines(row: dict) -> bool:
    """Tell whether Exact left the lines `__deferred` (not expanded)."""
    lines = row.get("SalesEntryLines")
    return isinstance(lines, dict) and "__deferred" in lines
