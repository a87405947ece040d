"""The general-ledger lines of sales entries, as `bulk/Financial/TransactionLines` returns them.

Exact has no bulk or sync endpoint for sales entries themselves; their ledger lines come 1,000 a call from the
bulk endpoint (docs/reconciliation.md says why we read that one). Line 0 of an entry is its total including VAT
on the customer; lines 9999 hold its VAT, with the ledger's sign (a credit, so negative on an invoice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from sync.errors import FunctionalError
from sync.exact.entities import _decimal, _int, _opt_uuid, _str, _uuid, parse_exact_date

TOTAL_LINE, VAT_LINE = 0, 9999
LEDGER_FIELDS = "EntryID,EntryNumber,YourRef,Account,Date,LineNumber,AmountFC,Status,Modified,JournalCode"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_exact_moment(value) -> datetime | None:
    """`/Date(ms)/` is Amsterdam wall-clock time encoded as if UTC: return the real (aware) moment."""
    if value in (None, ""):
        return None
    match = _DATE_RE.match(str(value))
    if not match:
        raise FunctionalError(f"Exact Online sent a date and time we cannot read: {value!r}")
    wall = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).replace(tzinfo=None)
    return wall.replace(tzinfo=AMSTERDAM).astimezone(UTC)


@dataclass(frozen=True)
class LedgerLine:
    """One transaction line of a sales entry, with only what the reconciliation compares."""

    entry_id: UUID
    entry_number: int
    your_ref: str
    account: UUID | None
    entry_date: date | None
    line_number: int
    amount_fc: Decimal
    status: int
    modified: datetime | None
    journal_code: str

    @classmethod
    def from_api(cls, row: dict) -> LedgerLine:
        return cls(
            entry_id=_uuid(row, "EntryID"),
            entry_number=_int(row, "EntryNumber"),
            your_ref=_str(row, "YourRef").strip(),
            account=_opt_uuid(row, "Account"),
            entry_date=parse_exact_date(row.get("Date")),
            line_number=_int(row, "LineNumber"),
            amount_fc=_decimal(row, "AmountFC"),
            status=_int(row, "Status"),
            modified=parse_exact_moment(row.get("Modified")),
            journal_code=_str(row, "JournalCode").strip(),
        )


ENTRY_TOTAL_FIELDS = "EntryID,EntryNumber,YourRef,Customer,EntryDate,AmountFC,VATAmountFC,Status,Modified,Journal"


@dataclass(frozen=True)
class EntryTotals:
    """One sales entry's header totals from the CRUD endpoint (the fallback when bulk is not served)."""

    entry_id: UUID
    entry_number: int
    your_ref: str
    account: UUID | None
    entry_date: date | None
    incl: Decimal
    vat: Decimal
    status: int
    modified: datetime | None

    @classmethod
    def from_api(cls, row: dict) -> EntryTotals:
        return cls(
            entry_id=_uuid(row, "EntryID"),
            entry_number=_int(row, "EntryNumber"),
            your_ref=_str(row, "YourRef").strip(),
            account=_opt_uuid(row, "Customer"),
            entry_date=parse_exact_date(row.get("EntryDate")),
            incl=_decimal(row, "AmountFC"),
            vat=_decimal(row, "VATAmountFC"),
            status=_int(row, "Status"),
            modified=parse_exact_moment(row.get("Modified")),
        )
