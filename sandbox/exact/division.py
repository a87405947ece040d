"""One Exact division (administration): its lookups, accounts, entries and documents."""

from __future__ import annotations

from dataclasses import dataclass, field

from .odata import new_guid

JOURNAL_TYPES = {10: "Kas", 12: "Bank", 16: "Betaaldienst", 20: "Verkoop", 21: "Retourfactuur", 22: "Inkoop"}
JOURNAL_TYPES |= {23: "Ontvangen retourfactuur", 90: "Memoriaal"}
GL_TYPES = {110: "Omzet", 111: "Kostprijs omzet", 20: "Debiteuren", 24: "Btw", 12: "Bank", 90: "Overig"}

DEFAULT_JOURNALS = [
    {"Code": "70", "Description": "Verkoopboek", "Type": 20},
    {"Code": "20", "Description": "Bank", "Type": 12},
    {"Code": "90", "Description": "Memoriaal", "Type": 90},
]
DEFAULT_GL_ACCOUNTS = [
    {"Code": "8000", "Description": "Omzet opleidingen", "Type": 110, "BalanceType": "W", "VATCode": "2  "},
    {"Code": "8010", "Description": "Omzet cursusmateriaal", "Type": 110, "BalanceType": "W", "VATCode": "1  "},
    {"Code": "8020", "Description": "Kortingen", "Type": 110, "BalanceType": "W", "VATCode": "2  "},
    {
        "Code": "8030",
        "Description": "Omzet projecten",
        "Type": 110,
        "BalanceType": "W",
        "VATCode": "2  ",
        "UseCostcenter": 1,
        "UseCostunit": 2,
    },
    {"Code": "1300", "Description": "Debiteuren", "Type": 20, "BalanceType": "B", "VATCode": ""},
    {"Code": "1500", "Description": "Te betalen btw", "Type": 24, "BalanceType": "B", "VATCode": ""},
]
DEFAULT_COST_CENTERS = [
    {"Code": "100", "Description": "Opleidingen"},
    {"Code": "200", "Description": "Incompany"},
]
DEFAULT_COST_UNITS = [
    {"Code": "10", "Description": "Amsterdam"},
    {"Code": "20", "Description": "Utrecht"},
]
DEFAULT_VAT_CODES = [
    {"Code": "2", "Description": "BTW hoog 21%", "Percentage": 0.21, "Type": "E", "VATTransactionType": "S"},
    {"Code": "1", "Description": "BTW laag 9%", "Percentage": 0.09, "Type": "E", "VATTransactionType": "S"},
    {"Code": "0", "Description": "BTW 0%", "Percentage": 0.0, "Type": "B", "VATTransactionType": "S"},
    {"Code": "5", "Description": "Vrijgesteld van btw", "Percentage": 0.0, "Type": "N", "VATTransactionType": "S"},
    {"Code": "7", "Description": "Voorbelasting hoog 21%", "Percentage": 0.21, "Type": "E", "VATTransactionType": "P"},
]

# Payment conditions (cashflow/PaymentConditions): code, description and days until due. An account's
# `PaymentConditionSales` decides an entry's due date when DueDate is not given [C S5]; the
# division's default applies to accounts without one [U].
DEFAULT_PAYMENT_CONDITIONS = [
    {"Code": "00", "Description": "Direct", "PaymentDays": 0},
    {"Code": "14", "Description": "Binnen 14 dagen", "PaymentDays": 14},
    {"Code": "15", "Description": "Binnen 15 dagen", "PaymentDays": 15},
    {"Code": "30", "Description": "Binnen 30 dagen", "PaymentDays": 30},
    {"Code": "60", "Description": "Binnen 60 dagen", "PaymentDays": 60},
]
DEFAULT_PAYMENT_CONDITION = "30"


@dataclass
class Division:
    code: int
    name: str
    hid: int
    customer_id: str = field(default_factory=new_guid)
    journals: dict = field(default_factory=dict)
    gl_accounts: dict = field(default_factory=dict)
    cost_centers: dict = field(default_factory=dict)
    cost_units: dict = field(default_factory=dict)
    vat_codes: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    documents: dict = field(default_factory=dict)
    attachments: dict = field(default_factory=dict)
    closed_periods: set = field(default_factory=set)
    next_document_hid: int = 1
    payment_conditions: dict = field(default_factory=dict)  # code -> row
    default_payment_condition: str = DEFAULT_PAYMENT_CONDITION
    licence: str = "demo"  # system/AllDivisions lists the divisions of the URL division's licence
    country: str = "NL"  # the country platform (host) that holds the division (item 1)
    webhooks: dict = field(default_factory=dict)  # webhooks/WebhookSubscriptions

    def payment_condition(self, code) -> dict | None:
        return self.payment_conditions.get(str(code).strip()) if code is not None else None

    def journal_by_code(self, code: str | None) -> dict | None:
        return _by_code(self.journals, code)

    def vat_code(self, code: str | None) -> dict | None:
        # VAT codes may be stored padded to 3 characters; compare trimmed [K S7].
        return _by_code(self.vat_codes, code)

    def cost_center(self, code: str | None) -> dict | None:
        return _by_code(self.cost_centers, code)

    def cost_unit(self, code: str | None) -> dict | None:
        return _by_code(self.cost_units, code)

    def lines_of(self, entry_id: str) -> list[dict]:
        return sorted(
            (line for line in self.lines.values() if line["EntryID"] == entry_id), key=lambda line: line["LineNumber"]
        )


def _by_code(rows: dict, code: str | None) -> dict | None:
    if code is None:
        return None
    wanted = str(code).strip()
    return next((row for row in rows.values() if str(row["Code"]).strip() == wanted), None)


def build_lookups(division: Division, journals, gl_accounts, cost_centers, cost_units, vat_codes, pad_vat) -> None:
    for row in journals or DEFAULT_JOURNALS:
        _add(division.journals, division, _journal(row))
    for row in vat_codes or DEFAULT_VAT_CODES:
        _add(division.vat_codes, division, _vat_code(row, pad_vat))
    for row in gl_accounts or DEFAULT_GL_ACCOUNTS:
        _add(division.gl_accounts, division, _gl_account(row))
    for row in cost_centers or DEFAULT_COST_CENTERS:
        _add(division.cost_centers, division, {"Active": True, **row})
    for row in cost_units or DEFAULT_COST_UNITS:
        _add(division.cost_units, division, dict(row))
    repad_vat_codes(division, pad_vat)
    for row in DEFAULT_PAYMENT_CONDITIONS:
        division.payment_conditions[row["Code"]] = dict(row)


def _add(store: dict, division: Division, row: dict) -> None:
    row = {"ID": row.get("ID") or new_guid(), **row, "Division": division.code}
    store[row["ID"]] = row


def _journal(row: dict) -> dict:
    defaults = {"Currency": "EUR", "AllowVAT": True, "AllowVariableCurrency": False, "IsBlocked": False}
    out = {**defaults, **row}
    out["TypeDescription"] = JOURNAL_TYPES.get(out["Type"], "")
    return out


def _gl_account(row: dict) -> dict:
    defaults = {"UseCostcenter": 0, "UseCostunit": 0, "IsBlocked": False, "VATCode": ""}
    out = {**defaults, **row}
    out["BalanceSide"] = out.get("BalanceSide") or ("C" if out["Type"] == 110 else "D")
    out["TypeDescription"] = GL_TYPES.get(out["Type"], "")
    return out


def _vat_code(row: dict, pad: bool) -> dict:
    out = {"IsBlocked": False, "Type": "E", "VATTransactionType": "S", **row}
    out["Code"] = vat_code_text(out["Code"], pad)
    return out


def vat_code_text(code, pad: bool) -> str:
    """A VAT code as stored: right-padded to 3 characters ('2  ') or trimmed ('2')."""
    return str(code).strip().ljust(3) if pad else str(code).strip()


def repad_vat_codes(division: Division, pad: bool) -> None:
    """Store every VAT code of the division (and the GL accounts' default codes) padded or trimmed."""
    for row in division.vat_codes.values():
        row["Code"] = vat_code_text(row["Code"], pad)
    for row in division.gl_accounts.values():
        if str(row.get("VATCode") or "").strip():
            row["VATCode"] = vat_code_text(row["VATCode"], pad)
