"""Eduframe entities, parsed from the Admin API's JSON (money as decimal strings, ISO dates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.errors import FunctionalError


def _get(row: dict, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, TypeError) as exc:
        raise FunctionalError(f"Eduframe's answer lacks the field {name}.") from exc


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation as exc:
        raise FunctionalError(f"Eduframe sent an invalid amount: {value!r}") from exc


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise FunctionalError(f"Eduframe sent an invalid date: {value!r}") from exc


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise FunctionalError(f"Eduframe sent an invalid timestamp: {value!r}") from exc


@dataclass(frozen=True)
class Educator:
    id: int
    slug: str
    name: str
    tenant_id: str | None

    @classmethod
    def from_api(cls, row: dict) -> Educator:
        return cls(_get(row, "id"), _get(row, "slug"), row.get("name") or "", row.get("tenant_id"))


@dataclass(frozen=True)
class InvoiceItem:
    id: int
    name: str
    units: Decimal
    unit_price: Decimal
    invoice_vat_id: int | None
    catalog_variant_id: int | None

    @classmethod
    def from_api(cls, row: dict) -> InvoiceItem:
        return cls(
            id=_get(row, "id"),
            name=row.get("name") or "",
            units=_decimal(_get(row, "units")),
            unit_price=_decimal(_get(row, "unit_price")),
            invoice_vat_id=row.get("invoice_vat_id"),
            catalog_variant_id=row.get("catalog_variant_id"),
        )


@dataclass(frozen=True)
class Invoice:
    id: int
    number: str
    status: str
    opened_at: date | None
    expiration_date: date | None
    description: str
    reference_id: str
    feature: str
    account_id: int | None
    account_name: str
    currency: str
    total_excl: Decimal
    total_incl: Decimal
    updated_at: datetime | None
    order_id: int | None
    items: tuple[InvoiceItem, ...]
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, row: dict) -> Invoice:
        return cls(
            id=_get(row, "id"),
            number=row.get("number") or "",
            status=_get(row, "status"),
            opened_at=_date(row.get("opened_at")),
            expiration_date=_date(row.get("expiration_date")),
            description=row.get("description") or "",
            reference_id=str(row.get("reference_id") or ""),
            feature=row.get("feature") or "",
            account_id=row.get("account_id"),
            account_name=row.get("account_name") or "",
            currency=row.get("currency") or "EUR",
            total_excl=_decimal(_get(row, "total_excl")),
            total_incl=_decimal(_get(row, "total_incl")),
            updated_at=_datetime(row.get("updated_at")),
            order_id=row.get("order_id"),
            items=tuple(InvoiceItem.from_api(item) for item in row.get("invoice_items") or []),
            raw=row,
        )


@dataclass(frozen=True)
class Address:
    address: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    state_province: str

    @classmethod
    def from_api(cls, row: dict | None) -> Address | None:
        if not row:
            return None
        keys = ("address", "address_line2", "postal_code", "city", "country", "state_province")
        return cls(*(str(row.get(key) or "").strip() for key in keys))


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    email: str
    account_type: str
    address: Address | None
    custom: dict
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, row: dict) -> Account:
        return cls(
            id=_get(row, "id"),
            name=row.get("name") or "",
            email=row.get("email") or "",
            account_type=row.get("account_type") or "",
            address=Address.from_api(row.get("address")),
            custom=row.get("custom") or {},
            raw=row,
        )


@dataclass(frozen=True)
class InvoiceVat:
    id: int
    name: str
    percentage: Decimal
    has_vat: bool

    @classmethod
    def from_api(cls, row: dict) -> InvoiceVat:
        return cls(_get(row, "id"), row.get("name") or "", _decimal(_get(row, "percentage")), bool(row.get("has_vat")))


@dataclass(frozen=True)
class SignupQuestion:
    id: int
    slug: str
    title: str
    field_type: str
    for_type: str
    system_name: str | None

    @classmethod
    def from_api(cls, row: dict) -> SignupQuestion:
        return cls(
            id=_get(row, "id"),
            slug=_get(row, "slug"),
            title=row.get("title") or "",
            field_type=row.get("field_type") or "",
            for_type=row.get("for_type") or "",
            system_name=row.get("system_name"),
        )


@dataclass(frozen=True)
class Course:
    id: int
    name: str
    code: str

    @classmethod
    def from_api(cls, row: dict) -> Course:
        return cls(_get(row, "id"), row.get("name") or "", row.get("code") or "")


@dataclass(frozen=True)
class PlannedCourse:
    id: int
    course_id: int | None
    name: str
    start_date: date | None
    end_date: date | None
    status: str
    named: bool = False  # Eduframe gave the edition a name of its own

    @classmethod
    def from_api(cls, row: dict) -> PlannedCourse:
        start, end = _date(row.get("start_date")), _date(row.get("end_date"))
        return cls(
            id=_get(row, "id"),
            course_id=row.get("course_id"),
            # Planned courses have no name in the API: name them by their dates.
            name=row.get("name") or _edition_name(_get(row, "id"), start, end),
            start_date=start,
            end_date=end,
            status=row.get("status") or "",
            named=bool(row.get("name")),
        )

    @property
    def link_text(self) -> str:
        """What its link says (the contract: "by the edition's name or start date"): its own name, else the start
        date alone, so that the start date one has finds the link exactly."""
        if self.named or self.start_date is None:
            return self.name
        return self.start_date.isoformat()

    @property
    def until_text(self) -> str:
        """The last day, shown beside an unnamed edition's link when it differs from the first."""
        if self.named or not self.end_date or self.end_date == self.start_date:
            return ""
        return f"until {self.end_date.isoformat()}"


def _edition_name(edition_id: int, start: date | None, end: date | None) -> str:
    # ISO dates: what Eduframe's own API and exports show, so an edition is found by the start date one has.
    if start and end and end != start:
        return f"{start.isoformat()} – {end.isoformat()}"
    if start:
        return start.isoformat()
    return f"Edition {edition_id}"


@dataclass(frozen=True)
class CatalogVariant:
    id: int
    product_id: int | None
    name: str
    variantable_type: str
    variantable_id: int | None

    @classmethod
    def from_api(cls, row: dict) -> CatalogVariant:
        return cls(
            id=_get(row, "id"),
            product_id=row.get("product_id"),
            name=row.get("name") or "",
            variantable_type=row.get("variantable_type") or "",
            variantable_id=row.get("variantable_id"),
        )


@dataclass(frozen=True)
class Webhook:
    id: str
    # Our webhook URLs carry the installation's secret: kept out of reprs (tracebacks, logs).
    url: str = field(repr=False)
    active: bool
    events: tuple[str, ...]

    @classmethod
    def from_api(cls, row: dict) -> Webhook:
        return cls(str(_get(row, "id")), _get(row, "url"), bool(row.get("active")), tuple(row.get("events") or ()))
