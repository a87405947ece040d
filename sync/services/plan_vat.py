"""VAT of a planned entry: which Exact VAT code stands for an Eduframe VAT rate, and amounts to the cent.

Exact recomputes VAT per line and rounds, so a total can drift a cent from Eduframe's (picqer #662). We send
`VATAmountFC` on every line and put any rounding difference on one line, so the entry total equals Eduframe's
`total_incl` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class VatChoice:
    """The Exact VAT code for one Eduframe rate, the rule that chose it, or the problem why none."""

    code: str = ""
    rule: str = ""
    problem: str = ""


def cents(value: Decimal) -> Decimal:
    """Round to cents, half-up (as Eduframe and Exact do)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_percentage(vat_code) -> Decimal:
    """Return an Exact VAT code's percentage as Eduframe writes it: Exact 0.21 -> 21."""
    return (Decimal(str(vat_code.percentage)) * HUNDRED).normalize()


def eduframe_percentage(rate) -> Decimal:
    """Return an Eduframe VAT rate's percentage as written there (21.0 -> 21)."""
    return Decimal(str(rate.percentage)).normalize()


def codes_with_percentage(rate, vat_codes) -> list:
    """The Exact VAT codes whose percentage equals the Eduframe rate's: the one matcher for settings and booking."""
    percentage = eduframe_percentage(rate)
    return [code for code in vat_codes if exact_percentage(code) == percentage]


def vat_choose(*, vat_id: int | None, rate, mappings: dict[int, str], sales_vat_codes, division) -> VatChoice:
    """Pick the installation's mapping for the rate, else the single sales code with the same percentage."""
    mapped = mappings.get(vat_id) if vat_id is not None else None
    if mapped:
        return VatChoice(code=mapped, rule="VAT mapping")
    name = rate.name if rate is not None else f"#{vat_id}"
    percentage = eduframe_percentage(rate) if rate is not None else None
    same = codes_with_percentage(rate, sales_vat_codes) if rate is not None else []
    if len(same) == 1:
        return VatChoice(code=same[0].code, rule="percentage match")
    how_many = "several" if same else "no"
    shown = f"{percentage:f}%" if percentage is not None else "this rate's percentage"
    return VatChoice(
        problem=(
            f"No Exact VAT code for the Eduframe VAT rate '{name}': {how_many} sales VAT codes have {shown} "
            f"in division {division}; choose one under VAT mapping on the settings page"
        )
    )


def line_vat_amounts(amounts: list[Decimal], percentages: list[Decimal], vat_total: Decimal | None) -> list[Decimal]:
    """Round each line's VAT, then put the difference to `vat_total` on the largest line that carries VAT."""
    vats = [cents(amount * pct / HUNDRED) for amount, pct in zip(amounts, percentages, strict=True)]
    if vat_total is None or not vats:
        return vats
    difference = vat_total - sum(vats, Decimal(0))
    if difference:
        # A 0% line must keep 0 VAT (Exact refuses a VAT amount on a "no VAT" code), so prefer taxed lines.
        taxed = [i for i, pct in enumerate(percentages) if pct] or list(range(len(amounts)))
        largest = max(taxed, key=lambda i: abs(amounts[i]))
        vats[largest] += difference
    return vats
