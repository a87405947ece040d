"""The reconciliation itself, without I/O: a month of Eduframe invoices against Exact's sales entries.

Inputs are what the readers fetched (reconciliation_read.py) and what EduExact remembers (its records and
account links); the output is a `Report`: counts and totals on both sides, the year's totals per month, and
one `Difference` per thing an accountant has to look at, each saying whether booking again repairs it.
Exact entries are matched to invoices by `YourRef` (the invoice number, our dedupe key); an entry EduExact
reversed (`<number>-R`) counts towards its invoice, so a reversed and re-booked invoice nets to its total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sync.local_time import local_stamp
from sync.models import InvoiceRecord

PROCESSED = 50
STATE_LABELS = dict(InvoiceRecord.State.choices)
# Our own writes end before `booked_at` is stored; a change this much later was made by someone else.
HAND_CHANGE_MARGIN = timedelta(minutes=1)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ExactEntry:
    """One sales entry as its ledger lines tell it: total (line 0) and VAT (lines 9999)."""

    entry_id: UUID
    entry_number: int
    your_ref: str
    account: UUID | None
    entry_date: date | None
    incl: Decimal
    vat: Decimal
    status: int
    modified: datetime | None

    @property
    def excl(self) -> Decimal:
        return self.incl - self.vat

    @property
    def invoice_number(self) -> str:
        return self.your_ref[:-2] if self.is_reversal else self.your_ref

    @property
    def is_reversal(self) -> bool:
        return self.your_ref.endswith("-R")


@dataclass(frozen=True)
class InvoiceFacts:
    """What the reconciliation needs of one Eduframe invoice."""

    id: int
    number: str
    opened_at: date | None
    account_id: int | None
    excl: Decimal
    incl: Decimal

    @property
    def vat(self) -> Decimal:
        return self.incl - self.excl


@dataclass(frozen=True)
class RecordFacts:
    """What EduExact remembers of one invoice."""

    eduframe_invoice_id: int
    number: str
    state: str
    reason: str
    exact_entry_id: UUID | None
    booked_at: datetime | None


@dataclass(frozen=True)
class Totals:
    count: int = 0
    excl: Decimal = ZERO
    vat: Decimal = ZERO
    incl: Decimal = ZERO


@dataclass(frozen=True)
class Difference:
    number: str
    kind: str
    eduframe: str
    exact: str
    detail: str
    eduframe_invoice_id: int | None
    repairable: bool


@dataclass(frozen=True)
class MonthTotal:
    month: int
    eduframe: Decimal
    exact: Decimal


@dataclass
class Report:
    year: int
    month: int
    journal: str
    division: int
    eduframe: Totals
    exact: Totals
    months: list[MonthTotal] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def to_book_again(self) -> list[int]:
        """The Eduframe invoices a new booking repairs, each once, in report order."""
        ids = [d.eduframe_invoice_id for d in self.differences if d.repairable and d.eduframe_invoice_id]
        return list(dict.fromkeys(ids))


# Plain words per kind: the first column an accountant reads after the invoice number.
KIND_LABELS = {
    "missing_in_exact": "in Eduframe, not in Exact",
    "before_sync_from": "in Eduframe, not booked: dated before 'Sync from'",
    "deleted_in_exact": "booked by EduExact, entry deleted in Exact",
    "moved_in_exact": "booked by EduExact, entry dated in another period in Exact",
    "gone_from_eduframe": "in Exact (booked by EduExact), no longer in Eduframe",
    "date_differs": "in Exact in this period, in Eduframe in another",
    "not_from_eduexact": "in Exact, not booked by EduExact",
    "amount_differs": "amount excl. VAT differs",
    "vat_differs": "VAT differs",
    "customer_differs": "customer differs",
    "changed_in_exact": "entry changed in Exact by hand since EduExact booked it",
    "processed_in_exact": "entry processed in Exact since EduExact booked it",
}


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _in_month(day: date | None, year: int, month: int) -> bool:
    return day is not None and day.year == year and day.month == month


def entries_from_lines(lines) -> list[ExactEntry]:
    """Fold ledger lines (0 = total, 9999 = VAT, credit-signed) into one ExactEntry per EntryID."""
    by_entry: dict[UUID, list] = defaultdict(list)
    for line in lines:
        by_entry[line.entry_id].append(line)
    entries = []
    for entry_id, group in by_entry.items():
        total = next((line for line in group if line.line_number == 0), None)
        if total is None:
            continue  # only VAT lines came back: not a sales entry we can read
        vat = -sum((line.amount_fc for line in group if line.line_number == 9999), ZERO)
        entries.append(
            ExactEntry(
                entry_id=entry_id,
                entry_number=total.entry_number,
                your_ref=total.your_ref,
                account=total.account,
                entry_date=total.entry_date,
                incl=total.amount_fc,
                vat=vat,
                status=total.status,
                modified=max((line.modified for line in group if line.modified), default=None),
            )
        )
    return entries


def _totals(amounts: list[tuple[Decimal, Decimal]]) -> Totals:
    """Totals of (excl, vat) pairs."""
    excl = sum((a for a, _ in amounts), ZERO)
    vat = sum((v for _, v in amounts), ZERO)
    return Totals(count=len(amounts), excl=excl, vat=vat, incl=excl + vat)


@dataclass
class Inputs:
    year: int
    month: int
    journal: str
    division: int
    sync_from: date | None
    invoices: list[InvoiceFacts]  # every listed (non-concept) invoice, any date
    entries: list[ExactEntry]  # the journal's entries of the year
    records: list[RecordFacts]
    links: dict[int, UUID]  # Eduframe account id -> Exact account id
    found_elsewhere: dict[UUID, ExactEntry] = field(default_factory=dict)  # booked entries looked up by id


class _Comparison:
    def __init__(self, inputs: Inputs):
        self.i = inputs
        self.records = {r.eduframe_invoice_id: r for r in inputs.records}
        self.records_by_number = {r.number: r for r in inputs.records if r.number}
        self.invoices_by_number = {inv.number: inv for inv in inputs.invoices if inv.number}
        self.entries_by_id = {e.entry_id: e for e in inputs.entries} | inputs.found_elsewhere
        self.differences: list[Difference] = []

    def add(self, number, kind, eduframe="", exact="", detail="", invoice_id=None, repairable=True) -> None:
        self.differences.append(Difference(number, kind, eduframe, exact, detail, invoice_id, repairable))

    def run(self) -> list[Difference]:
        month_entries = [e for e in self.i.entries if _in_month(e.entry_date, self.i.year, self.i.month)]
        groups: dict[str, list[ExactEntry]] = defaultdict(list)
        for entry in month_entries:
            groups[entry.invoice_number].append(entry)
        month_invoices = [inv for inv in self.i.invoices if _in_month(inv.opened_at, self.i.year, self.i.month)]
        for invoice in sorted(month_invoices, key=lambda inv: inv.number):
            self.invoice(invoice, groups.pop(invoice.number, []))
        for number in sorted(groups):
            self.entries_without_invoice(number, groups[number])
        return self.differences

    def invoice(self, invoice: InvoiceFacts, group: list[ExactEntry]) -> None:
        if not group:
            return self.not_in_exact(invoice)
        excl = sum((e.excl for e in group), ZERO)
        vat = sum((e.vat for e in group), ZERO)
        add = self._adder(invoice)
        if excl != invoice.excl:
            add("amount_differs", _money(invoice.excl), _money(excl), _entries_text(group))
        if vat != invoice.vat:
            add("vat_differs", _money(invoice.vat), _money(vat), _entries_text(group))
        originals = [e for e in group if not e.is_reversal]
        self.customer(invoice, originals, add)
        self.hand_work(invoice, originals, add)

    def _adder(self, invoice: InvoiceFacts):
        def add(kind, eduframe="", exact="", detail="", repairable=True):
            self.add(invoice.number, kind, eduframe, exact, detail, invoice.id, repairable)

        return add

    def customer(self, invoice: InvoiceFacts, originals: list[ExactEntry], add) -> None:
        wanted = self.i.links.get(invoice.account_id) if invoice.account_id is not None else None
        wrong = [e for e in originals if wanted and e.account and e.account != wanted]
        if wrong:
            add("customer_differs", str(wanted), str(wrong[0].account), _entries_text(wrong))

    def hand_work(self, invoice: InvoiceFacts, originals: list[ExactEntry], add) -> None:
        record = self.records.get(invoice.id)
        booked_at = record.booked_at if record else None
        for entry in originals:
            if entry.status == PROCESSED:
                # Booking again would have to reverse it: the accountant decides, so it is not repaired.
                add("processed_in_exact", "", f"entry {entry.entry_number}", "status processed", repairable=False)
            elif booked_at and entry.modified and entry.modified > booked_at + HAND_CHANGE_MARGIN:
                detail = f"changed {local_stamp(entry.modified)}, booked {local_stamp(booked_at)}"
                add("changed_in_exact", "", f"entry {entry.entry_number}", detail)

    def not_in_exact(self, invoice: InvoiceFacts) -> None:
        record = self.records.get(invoice.id)
        add = self._adder(invoice)
        amount = _money(invoice.incl)
        if record and record.exact_entry_id:
            elsewhere = self.entries_by_id.get(record.exact_entry_id)
            if elsewhere is not None:
                dated = f"{elsewhere.entry_date:%Y-%m-%d}" if elsewhere.entry_date else "undated"
                detail = f"entry {elsewhere.entry_number} dated {dated}"
                return add("moved_in_exact", amount, _money(elsewhere.incl), detail)
            return add("deleted_in_exact", amount, "", f"EduExact booked it as entry id {record.exact_entry_id}")
        if self.i.sync_from and invoice.opened_at and invoice.opened_at < self.i.sync_from:
            detail = f"'Sync from' is {self.i.sync_from:%Y-%m-%d}"
            return add("before_sync_from", amount, "", detail, repairable=False)
        detail = (
            f"{STATE_LABELS.get(record.state, record.state)}: {record.reason}" if record else "never seen by EduExact"
        )
        add("missing_in_exact", amount, "", detail.strip().rstrip(":"))

    def entries_without_invoice(self, number: str, group: list[ExactEntry]) -> None:
        incl = _money(sum((e.incl for e in group), ZERO))
        invoice = self.invoices_by_number.get(number)
        if invoice is not None:
            dated = f"{invoice.opened_at:%Y-%m-%d}" if invoice.opened_at else "undated"
            detail = f"Eduframe dates it {dated}; " + _entries_text(group)
            return self.add(number, "date_differs", _money(invoice.incl), incl, detail, invoice.id)
        record = self.records_by_number.get(number)
        if record is not None:
            detail = _entries_text(group)
            return self.add(number, "gone_from_eduframe", "", incl, detail, record.eduframe_invoice_id)
        self.add(number or "(no YourRef)", "not_from_eduexact", "", incl, _entries_text(group), repairable=False)


def _entries_text(entries: list[ExactEntry]) -> str:
    return ", ".join(f"entry {e.entry_number} ({_money(e.incl)})" for e in entries)


def report_build(inputs: Inputs) -> Report:
    """Compare one month and total the year; pure, so every case can be tested without HTTP."""
    year, month = inputs.year, inputs.month
    month_invoices = [inv for inv in inputs.invoices if _in_month(inv.opened_at, year, month)]
    month_entries = [e for e in inputs.entries if _in_month(e.entry_date, year, month)]
    months = []
    for m in range(1, 13):
        eduframe = sum((inv.incl for inv in inputs.invoices if _in_month(inv.opened_at, year, m)), ZERO)
        exact = sum((e.incl for e in inputs.entries if _in_month(e.entry_date, year, m)), ZERO)
        months.append(MonthTotal(m, eduframe, exact))
    return Report(
        year=year,
        month=month,
        journal=inputs.journal,
        division=inputs.division,
        eduframe=_totals([(inv.excl, inv.vat) for inv in month_invoices]),
        exact=_totals([(e.excl, e.vat) for e in month_entries]),
        months=months,
        differences=_Comparison(inputs).run(),
    )
