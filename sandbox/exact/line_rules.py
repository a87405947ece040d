"""Validation and VAT of one sales entry line [C S5, S8; R S17]."""

from __future__ import annotations

from .division import Division
from .entry_rules import NO_VAT_AMOUNT, PROFIT_AND_LOSS, money
from .errors import Messages
from .odata import new_guid
from .schema import SALES_ENTRY_LINE

MANDATORY, FORBIDDEN = 1, 2  # GLAccounts.UseCostcenter / UseCostunit [C S5]


def new_line(division: Division, entry_id: str, values: dict, line_number: int) -> dict:
    line = {name: None for name in SALES_ENTRY_LINE.fields}
    line.update(values)
    line.update({"ID": new_guid(), "EntryID": entry_id, "LineNumber": line_number, "Division": division.code})
    return line


def check_line(division: Division, journal: dict | None, line: dict, messages: Messages) -> None:
    """Validate a line in place and fill its derived fields (codes, descriptions, VAT)."""
    gl = _check_gl_account(division, line, messages)
    if line.get("AmountFC") is None:
        messages.add("Verplicht: Bedrag")
    _check_dimension(division.cost_center, gl, "UseCostcenter", line, "CostCenter", "Kostenplaats", messages)
    _check_dimension(division.cost_unit, gl, "UseCostunit", line, "CostUnit", "Kostendrager", messages)
    vat = _check_vat_code(division, journal, gl, line, messages)
    if gl is not None and line.get("AmountFC") is not None:
        _compute_vat(line, vat, messages)


def _check_gl_account(division: Division, line: dict, messages: Messages) -> dict | None:
    if not line.get("GLAccount"):
        messages.add("Verplicht: Grootboekrekening")
        return None
    gl = division.gl_accounts.get(line["GLAccount"])
    if gl is None:
        messages.add("Ongeldige referentie: Grootboekrekening")
        return None
    if gl["IsBlocked"]:
        messages.add("Geblokkeerd: Grootboekrekening")
        return None
    if gl["BalanceType"] != PROFIT_AND_LOSS:
        # Receivables (1300) or VAT (1500) on a sales line: picqer #121 [R S15].
        messages.add("Ongeldig: Grootboekrekeningtype")
        return None
    line["GLAccountCode"], line["GLAccountDescription"] = gl["Code"], gl["Description"]
    return gl


def _check_dimension(lookup, gl, flag: str, line: dict, field: str, label: str, messages: Messages) -> None:
    """Cost centres/units are referenced by code; the GL account says whether they are required [C S5]."""
    code = (line.get(field) or "").strip() or None
    line[field] = code
    use = gl[flag] if gl else 0
    if code is None:
        if use == MANDATORY:
            messages.add(f"Verplicht: {label}")
        line[f"{field}Description"] = None
        return
    if use == FORBIDDEN:
        messages.add(f"Niet toegestaan: {label}")
        return
    found = lookup(code)
    if found is None:
        messages.add(f"Ongeldige referentie: {label}")
        return
    line[field], line[f"{field}Description"] = found["Code"], found["Description"]


def _check_vat_code(division: Division, journal, gl, line: dict, messages: Messages) -> dict | None:
    """`VATCode` defaults to the GL account's code [C S5]; unknown -> invalid reference (Bookzo [R S17])."""
    code = line.get("VATCode")
    if code is None or not str(code).strip():
        code = (gl or {}).get("VATCode") or ""
    if not str(code).strip():
        line["VATCode"] = None
        return None
    vat = division.vat_code(code)
    if vat is None or vat["IsBlocked"]:
        messages.add("Ongeldige referentie: Btw-code")
        return None
    if vat["VATTransactionType"] == "P" or (journal is not None and not journal["AllowVAT"]):
        # A purchase code on a sales line [U], or a journal without VAT (Booking Experts [R S17]).
        messages.add("Niet toegestaan: Btw-code")
        return None
    line["VATCode"], line["VATCodeDescription"] = vat["Code"], vat["Description"]
    line["VATPercentage"] = vat["Percentage"]
    return vat


def _compute_vat(line: dict, vat: dict | None, messages: Messages) -> None:
    """VAT per line = round(AmountFC x pct, 2) half-up unless VATAmountFC is sent [C S5]. Including-type
    codes treat AmountFC as gross [R S15, S17; U]."""
    amount = money(line["AmountFC"])
    percentage = vat["Percentage"] if vat else 0.0
    given = line.get("VATAmountFC")
    if vat is not None and vat["Type"] == "N" and given:
        messages.add(NO_VAT_AMOUNT)
        return
    if given is not None:
        line["VATAmountFC"] = money(given)
    elif vat is not None and vat["Type"] == "I":
        line["VATAmountFC"] = money(amount * percentage / (1 + percentage))
    else:
        line["VATAmountFC"] = money(amount * percentage)
    gross = vat is not None and vat["Type"] == "I"
    line["AmountFC"] = line["AmountDC"] = amount
    line["VATAmountDC"] = line["VATAmountFC"]
    line["VATBaseAmountFC"] = line["VATBaseAmountDC"] = money(amount - line["VATAmountFC"]) if gross else amount
