"""Read both sides of the reconciliation with as few calls as their APIs allow.

Eduframe has no date filter on invoices, so its invoices are listed once (100 a page, per status). Exact is read
through `bulk/Financial/TransactionLines` (1,000 rows a call), filtered to the journal, the year and the two
ledger lines that carry an entry's totals (0: total incl. VAT, 9999: VAT): two rows per entry, so a year of
500 invoices costs one call. Entries EduExact booked that are not in that year are looked up by EntryID, 40 to a
call (the URL stays far below Exact's 6,000 characters). Why these endpoints: docs/reconciliation.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from uuid import UUID

from sync.errors import NotFoundError
from sync.services.reconciliation_compare import ExactEntry, InvoiceFacts, entries_from_lines

LISTED_STATUSES = ["open", "paid", "expired"]  # everything but concepts
LOOKUP_BATCH = 40
TOTAL_AND_VAT = "(LineNumber eq 0 or LineNumber eq 9999)"

Tick = Callable[[], None]


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def invoices_read(eduframe, tick: Tick) -> list[InvoiceFacts]:
    """Every non-concept invoice of the tenant (any date: a date may be wrong in either system)."""
    facts = []
    for invoice in eduframe.iter_invoices(statuses=LISTED_STATUSES):
        facts.append(
            InvoiceFacts(
                id=invoice.id,
                number=invoice.number,
                opened_at=invoice.opened_at,
                account_id=invoice.account_id,
                excl=invoice.total_excl,
                incl=invoice.total_incl,
            )
        )
        tick()
    tick()
    return facts


def year_filter(journal: str, year: int) -> str:
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return (
        f"JournalCode eq {_quote(journal)} and Date ge datetime'{start:%Y-%m-%d}' "
        f"and Date lt datetime'{end:%Y-%m-%d}' and {TOTAL_AND_VAT}"
    )


def entries_read(exact, division: int, journal: str, year: int, tick: Tick) -> list[ExactEntry]:
    """The journal's sales entries dated in the year, from their total and VAT ledger lines."""
    lines = []
    try:
        for page in exact.ledger_line_pages(division, odata_filter=year_filter(journal, year)):
            lines.extend(page)
            tick()
    except NotFoundError:
        # An Exact (or a double of it) that does not serve the bulk endpoint: the CRUD one, 60 a call.
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
        crud = (f"Journal eq {_quote(journal)} and EntryDate ge datetime'{start:%Y-%m-%d}' "
                f"and EntryDate lt datetime'{end:%Y-%m-%d}'")  # fmt: skip
        return _from_totals(exact.sales_entry_totals(division, odata_filter=crud), tick)
    return entries_from_lines(lines)


def _from_totals(rows, tick: Tick) -> list[ExactEntry]:
    tick()
    return [ExactEntry(r.entry_id, r.entry_number, r.your_ref, r.account, r.entry_date, r.incl, r.vat, r.status,
                       r.modified) for r in rows]  # fmt: skip


def entries_by_id(exact, division: int, entry_ids: Iterable[UUID], tick: Tick) -> dict[UUID, ExactEntry]:
    """Entries looked up by EntryID in any journal or period (those that still exist)."""
    wanted = sorted({str(entry_id) for entry_id in entry_ids})
    found: dict[UUID, ExactEntry] = {}
    for start in range(0, len(wanted), LOOKUP_BATCH):
        ids = " or ".join(f"EntryID eq guid'{entry_id}'" for entry_id in wanted[start : start + LOOKUP_BATCH])
        found |= {entry.entry_id: entry for entry in _by_ids(exact, division, ids, tick)}
    return found


def _by_ids(exact, division: int, ids: str, tick: Tick) -> list[ExactEntry]:
    lines = []
    try:
        for page in exact.ledger_line_pages(division, odata_filter=f"({ids}) and {TOTAL_AND_VAT}"):
            lines.extend(page)
            tick()
    except NotFoundError:
        return _from_totals(exact.sales_entry_totals(division, odata_filter=ids), tick)
    return entries_from_lines(lines)
