"""Finding our own entry by YourRef when the record does not know it (a lost answer, a worker killed mid-booking).

An accountant may have processed the entry in Exact meanwhile. A processed entry with our YourRef is still ours
unless a reversal (`{number}-R`, the opposite amount) cancelled it, which is what a replacement leaves; adopting
it is what keeps the invoice from being booked twice. It is kept as it is when it already says what we would
send (a processed entry cannot be changed in place: only a changed invoice replaces it).
"""

from __future__ import annotations

from sync.errors import FunctionalError
from sync.services.entry_write import PROCESSED, _header_changes, _line_differs
from sync.services.exact_text import reversal_ref


def _not_reversed(client, division: int, your_ref: str, processed: list) -> list:
    """The processed entries no reversal cancels (one reversal cancels one entry of the opposite amount)."""
    left = list(processed)
    for reversal in client.find_sales_entries(division, your_ref=reversal_ref(your_ref)):
        cancelled = next((e for e in left if e.amount_fc == -reversal.amount_fc), None)
        if cancelled is not None:
            left.remove(cancelled)
    return left


def entry_ours_by_ref(client, division: int, your_ref: str):
    """Return our one entry with this YourRef: the open one, else a processed one no reversal cancelled; or None."""
    found = client.find_sales_entries(division, your_ref=your_ref)
    open_entries = [e for e in found if e.status != PROCESSED]
    processed = [e for e in found if e.status == PROCESSED]
    if not open_entries and processed:
        open_entries = _not_reversed(client, division, your_ref, processed)
    if len(open_entries) > 1:
        raise FunctionalError(
            f"Exact Online has {len(open_entries)} sales entries with YourRef {your_ref} that are not reversed; "
            "reverse or delete the extra one(s) in Exact, then retry."
        )
    return open_entries[0] if open_entries else None


def entry_says_what_we_send(current, payload: dict, previous: dict | None) -> bool:
    """Tell whether the entry in Exact already holds the payload (header and every line): nothing to write."""
    # Exact does not read PaymentReference back: without what we sent last, take it that the entry has ours.
    previous = previous or {"PaymentReference": payload.get("PaymentReference")}
    if _header_changes(current, payload, previous):
        return False
    wanted = payload["SalesEntryLines"]
    if len(current.lines) != len(wanted):
        return False
    return not any(_line_differs(line, fields) for line, fields in zip(current.lines, wanted, strict=True))
