"""VAT of a planned entry: which Exact VAT code stands for an Eduframe VAT rate, and amounts to the cent.

Exact recomputes VAT per line and rounds, so a total can drift a cent from Eduframe's (picqer #662). We send
`VATAmountFC` on every line with VAT (a zero one is left out: Exact computes it zero too, and refuses any amount on a
"no VAT" code) and put any rounding difference on one line, so the entry total equals Eduframe's
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
    advice: str = "Choose an Exact VAT code under VAT mapping on the settings page."


def cents(value: Decimal) -> Decimal:
    """Round to cents, half-up (as Eduframe and Exact do)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_percentage(vat_code) -> Decimal:
    """Return an Exact VAT code's percentage as Eduframe writes it: Exact 0.21 -> 21."""
    return (Decimal(str(vat_code.percentage)) * HUNDRED).normalize()


def eduframe_percentage(rate) -> Decimal:
    """Return an Eduframe VAT rate's percentage as written there (21.0 -> 21)."""
    return Decimal(str(rate.percentage)).normalize()


# Exact reads a line's AmountFC as the amount including VAT on a code of this type (reference §5.6, `vat/VATCodes`).
INCLUDING = "I"


def codes_with_percentage(rate, vat_codes) -> list:
    """The Exact VAT codes whose percentage equals the Eduframe rate's: the one matcher for settings and booking.

    Including codes are no candidates: our lines carry amounts excluding VAT (Eduframe's unit prices), which Exact
    would read as gross; Exact's Dutch template has both "2" (21% excluding) and "4" (21% including).
    """
    percentage = eduframe_percentage(rate)
    return [code for code in vat_codes if exact_percentage(code) == percentage and code.type != INCLUDING]


def vat_choose(
    *, vat_id: int | None, rate, mappings: dict[int, str], sales_vat_codes, division, line: str = ""
) -> VatChoice:
    """Pick the installation's mapping for the rate, else the single sales code with the same percentage."""
    if vat_id is None:
        # Exact would take the ledger's default VAT code for a line without one: never guess a tax.
        return VatChoice(
            problem=f"The line '{line}' has no VAT rate in Eduframe, and Exact needs a VAT code on every line",
            advice="Give the invoice line a VAT rate in Eduframe; the invoice is booked once Eduframe sends the change.",
        )
    mapped = mappings.get(vat_id)
    if mapped:
        return VatChoice(code=mapped, rule="VAT mapping")
    if rate is None:
        return VatChoice(
            problem=f"The VAT rate of the line '{line}' (Eduframe id {vat_id}) is not among Eduframe's VAT rates",
            advice="Choose an Exact VAT code for it under VAT mapping on the settings page, or correct the line in Eduframe.",
        )
    same = codes_with_percentage(rate, sales_vat_codes)
    if len(same) == 1:
        return VatChoice(code=same[0].code, rule="percentage match")
    how_many = "several" if same else "no"
    return VatChoice(
        problem=(
            f"No Exact VAT code for the Eduframe VAT rate '{rate.name}': {how_many} sales VAT codes have "
            f"{eduframe_percentage(rate):f}% in division {division}; choose one under VAT mapping on the settings page"
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
