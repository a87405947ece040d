"""The general-ledger view of sales entries: the rows `bulk/` and `sync/Financial/TransactionLines` serve.

Exact keeps every financial entry as transaction lines sharing one `EntryID` (picqer `SyncTransactionLine`,
[K S6]). For a sales entry there are three kinds of line (Invantive's note on special line numbers [R]):

- `LineNumber` 0: the entry's total on the customer (receivables) account, including VAT;
- `LineNumber` 1..n: one per sales entry line, the revenue excluding VAT, with its VAT amount beside it;
- `LineNumber` 9999: the VAT, one line per VAT code with VAT.

Signs follow the ledger [R Invantive: "sales has a negative sign" in the incremental tables]: the total is a
debit (positive), revenue and VAT are credits (negative); a credit note has the opposite signs. The exact
sign convention on Exact's lines is otherwise unconfirmed [U].

`Timestamp` is the ever-incrementing counter of the sync endpoints (Invantive, "Exact Online sync APIs" [R]).
The simulator stamps an entry's lines when it first sees the entry changed (by content), which keeps the one
promise sync clients rely on: whatever changed after a timestamp comes back with a larger one. Deleted lines
are remembered with their own timestamp for `sync/Deleted` (picqer `Deleted`, EntityType 1 [K S6]).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from .division import Division

TOTAL_LINE, VAT_LINE = 0, 9999
RECEIVABLES_TYPE, VAT_TYPE = 20, 24  # GLAccounts.Type: 20 accounts receivable, 24 VAT [C S5]
TRANSACTION_LINES_ENTITY = 1  # sync/Deleted EntityType 1 = TransactionLines [K S6]
_NAMESPACE = uuid.UUID("5b0c7a52-3d0e-4f43-9d61-2f7f3c1a9e10")


@dataclass
class Stamps:
    """Per division: the last counter value, each entry's content hash and stamp, and the deletions seen."""

    counter: int = 0
    entries: dict = field(default_factory=dict)  # entry id -> (content hash, timestamp, line ids)
    deleted: list = field(default_factory=list)  # {"Timestamp", "EntityKey", "EntityType", "ID", "Division"}
    accounts: dict = field(default_factory=dict)  # account id -> (content hash, timestamp): account_sync.py


def stamps_of(division: Division) -> Stamps:
    stamps = getattr(division, "_ledger_stamps", None)
    if stamps is None:
        stamps = Stamps()
        division._ledger_stamps = stamps  # one per division object; a reset makes new divisions
    return stamps


def _money(value) -> float:
    return round(float(value or 0), 2)


def _line_id(entry_id: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{entry_id}/{key}"))


def _common(division: Division, entry: dict) -> dict:
    journal = division.journal_by_code(entry.get("Journal")) or {}
    account = division.accounts.get(entry.get("Customer") or "") or {}
    return {
        "EntryID": entry["EntryID"],
        "EntryNumber": entry.get("EntryNumber"),
        "InvoiceNumber": entry.get("InvoiceNumber") or entry.get("EntryNumber"),
        "JournalCode": journal.get("Code", entry.get("Journal")),
        "JournalDescription": journal.get("Description"),
        "Date": entry.get("EntryDate"),
        "DueDate": entry.get("DueDate"),
        "FinancialYear": entry.get("ReportingYear"),
        "FinancialPeriod": entry.get("ReportingPeriod"),
        "Type": entry.get("Type"),
        "Status": entry.get("Status"),
        "YourRef": entry.get("YourRef"),
        "PaymentReference": entry.get("PaymentReference"),
        "Document": entry.get("Document"),
        "Currency": entry.get("Currency") or "EUR",
        "Account": entry.get("Customer"),
        "AccountCode": account.get("Code"),
        "AccountName": account.get("Name"),
        "Created": entry.get("Created"),
        "Modified": entry.get("Modified"),
        "Division": division.code,
    }


def _gl(division: Division, gl_type: int) -> dict:
    return next((gl for gl in division.gl_accounts.values() if gl.get("Type") == gl_type), {})


def _total_line(division: Division, entry: dict, common: dict) -> dict:
    gl = _gl(division, RECEIVABLES_TYPE)
    total, vat = _money(entry.get("AmountFC")), _money(entry.get("VATAmountFC"))
    return {
        **common,
        "ID": _line_id(entry["EntryID"], "total"),
        "LineNumber": TOTAL_LINE,
        "Description": entry.get("Description"),
        "GLAccount": gl.get("ID"),
        "GLAccountCode": gl.get("Code"),
        "AmountFC": total,
        "AmountDC": total,
        "AmountVATFC": vat,
        "AmountVATBaseFC": _money(total - vat),
    }


def _revenue_line(division: Division, line: dict, common: dict) -> dict:
    gl = division.gl_accounts.get(line.get("GLAccount") or "") or {}
    net, vat = -_money(line.get("VATBaseAmountFC")), -_money(line.get("VATAmountFC"))
    return {
        **common,
        "ID": line["ID"],
        "LineNumber": line["LineNumber"],
        "Description": line.get("Description"),
        "GLAccount": line.get("GLAccount"),
        "GLAccountCode": gl.get("Code"),
        "AmountFC": net,
        "AmountDC": net,
        "AmountVATFC": vat,
        "AmountVATBaseFC": net,
        "VATCode": line.get("VATCode"),
        "CostCenter": line.get("CostCenter"),
        "CostUnit": line.get("CostUnit"),
        "Quantity": line.get("Quantity"),
    }


def _vat_lines(division: Division, entry: dict, lines: list[dict], common: dict) -> list[dict]:
    per_code: dict[str, float] = {}
    for line in lines:
        code = str(line.get("VATCode") or "").strip()
        per_code[code] = per_code.get(code, 0.0) + float(line.get("VATAmountFC") or 0)
    gl = _gl(division, VAT_TYPE)
    rows = []
    for code, vat in sorted(per_code.items()):
        if _money(vat) == 0:
            continue
        rows.append(
            {
                **common,
                "ID": _line_id(entry["EntryID"], f"vat/{code}"),
                "LineNumber": VAT_LINE,
                "Description": entry.get("Description"),
                "GLAccount": gl.get("ID"),
                "GLAccountCode": gl.get("Code"),
                "AmountFC": -_money(vat),
                "AmountDC": -_money(vat),
                "AmountVATFC": None,
                "AmountVATBaseFC": None,
                "VATCode": code,
            }
        )
    return rows


def entry_transaction_lines(division: Division, entry: dict) -> list[dict]:
    """The ledger lines of one sales entry: total (0), revenue (1..n), VAT (9999)."""
    common = _common(division, entry)
    lines = division.lines_of(entry["EntryID"])
    rows = [_total_line(division, entry, common)]
    rows += [_revenue_line(division, line, common) for line in lines]
    return rows + _vat_lines(division, entry, lines, common)


def _content_hash(rows: list[dict]) -> str:
    visible = [{k: v for k, v in row.items() if k != "Timestamp"} for row in rows]
    return hashlib.sha256(json.dumps(visible, sort_keys=True, default=str).encode()).hexdigest()


def transaction_lines(division: Division) -> list[dict]:
    """Every sales entry's ledger lines, each with the `Timestamp` of its entry's last change."""
    stamps = stamps_of(division)
    out: list[dict] = []
    for entry_id, entry in sorted(division.entries.items(), key=lambda item: item[1].get("Created") or 0):
        rows = entry_transaction_lines(division, entry)
        digest = _content_hash(rows)
        known = stamps.entries.get(entry_id)
        if known is None or known[0] != digest:
            if known is not None:
                _forget_lines(division, stamps, known[2] - {row["ID"] for row in rows})
            # One value per line, as each row of Exact's tables has its own row version [U].
            known = (digest, stamps.counter + 1, {row["ID"] for row in rows})
            stamps.counter += len(rows)
            stamps.entries[entry_id] = known
        out += [{**row, "Timestamp": known[1] + index} for index, row in enumerate(rows)]
    for entry_id in set(stamps.entries) - set(division.entries):
        _forget_lines(division, stamps, stamps.entries.pop(entry_id)[2])
    return out


def _forget_lines(division: Division, stamps: Stamps, line_ids) -> None:
    for line_id in sorted(line_ids):
        stamps.counter += 1
        stamps.deleted.append(
            {
                "Timestamp": stamps.counter,
                "EntityKey": line_id,
                "EntityType": TRANSACTION_LINES_ENTITY,
                "ID": _line_id(line_id, "deleted"),
                "Division": division.code,
            }
        )


def deleted_rows(division: Division) -> list[dict]:
    """What `sync/Deleted` lists: every transaction line seen once and gone since."""
    transaction_lines(division)  # notice deletions first
    return list(stamps_of(division).deleted)
