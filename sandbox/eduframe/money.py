"""Decimal money arithmetic as Eduframe shows it: two-decimal strings, VAT rounded per line half-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_decimal(value) -> Decimal:
    """Accept str/int/float/Decimal; floats go through str so 0.1 stays 0.1."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value)


def money(value) -> str:
    """Format as a decimal string with two places, e.g. "121.00"."""
    return str(to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def percentage_str(value) -> str:
    """Format a VAT percentage as a string with one decimal ("21.0", "9.0", "0.0").

    A string per the spec [C S3]; the digits are assumed [I]."""
    number = to_decimal(value).normalize()
    text = format(number, "f")
    return text if "." in text else text + ".0"


def line_total(units, unit_price) -> Decimal:
    return to_decimal(units) * to_decimal(unit_price)


def line_vat(units, unit_price, percentage) -> Decimal:
    """VAT of one line, rounded to cents half-up (Eduframe's rounding is not documented; this is the usual one)."""
    raw = line_total(units, unit_price) * to_decimal(percentage) / 100
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_totals(items: list[dict], percentages: dict[int, str]) -> tuple[Decimal, Decimal]:
    """Return (total_excl, total_incl) for items; an unknown or missing VAT id counts as 0%."""
    excl = sum((line_total(i["units"], i["unit_price"]) for i in items), Decimal("0"))
    vat = sum(
        (line_vat(i["units"], i["unit_price"], percentages.get(i.get("invoice_vat_id"), "0")) for i in items),
        Decimal("0"),
    )
    excl = excl.quantize(CENT, rounding=ROUND_HALF_UP)
    return excl, excl + vat
