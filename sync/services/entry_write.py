"""Writes of one sales entry: create (or adopt a lost one), update in place line by line, delete or reverse.

Exact has no idempotency key; `YourRef` (the Eduframe invoice number) is our dedupe key. Exact cannot take new
lines inside a PUT, and deleting an entry's last line deletes the entry, so changed lines are PUT, new lines
POSTed with their EntryID, and only then removed lines DELETEd.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from django.utils import timezone

from sync.errors import AmbiguousError, FunctionalError, NotFoundError
from sync.services.booking_errors import is_refused_change
from sync.services.entry_payload import HEADER_FIELDS, reversal_payload
from sync.services.exact_text import reversal_ref

PROCESSED = 50


def live_entry_by_ref(client, division: int, your_ref: str):
    """Return the one open entry with this YourRef (processed ones were replaced, never ours to adopt), or None."""
    open_entries = [e for e in client.find_sales_entries(division, your_ref=your_ref) if e.status != PROCESSED]
    if len(open_entries) > 1:
        raise FunctionalError(
            f"Exact Online has {len(open_entries)} open sales entries with YourRef {your_ref}; delete the extra "
            "one(s) in Exact, then retry."
        )
    return open_entries[0] if open_entries else None


def entry_create(client, division: int, payload: dict):
    """POST the entry; after a lost answer adopt the entry the lost request made (found by YourRef)."""
    try:
        return client.create_sales_entry(division, payload)
    except AmbiguousError:
        adopted = live_entry_by_ref(client, division, payload["YourRef"])
        if adopted is None:
            raise
        return adopted


def _same(value, current) -> bool:
    if isinstance(current, UUID) or isinstance(value, UUID):
        return str(value or "").lower() == str(current or "").lower()
    if isinstance(current, Decimal):
        return value is not None and Decimal(str(value)) == current
    return (value or "") == (current or "")


def _header_changes(current, payload: dict, previous: dict | None) -> dict:
    """Header fields that differ from Exact's; PaymentReference (not read back) is compared with what we sent."""
    now = {
        "Journal": current.journal,
        "Customer": current.customer,
        "EntryDate": current.entry_date,
        "DueDate": current.due_date,
        "YourRef": current.your_ref,
        "Description": current.description,
        "Document": current.document,
        "PaymentReference": (previous or {}).get("PaymentReference"),
    }
    changes = {f: payload[f] for f in HEADER_FIELDS if f in payload and not _same(payload[f], now[f])}
    if "Customer" in changes and payload.get("PaymentReference"):
        # Exact regenerates the payment reference when Customer changes (integrators report it; Exact's
        # SalesEntries reference, start.exactonline.nl/docs/HlpRestAPIResources.aspx, is silent): send ours along.
        changes["PaymentReference"] = payload["PaymentReference"]
    return changes


def _line_differs(line, wanted: dict) -> bool:
    current = {
        "GLAccount": line.gl_account,
        "Description": line.description,
        "Quantity": line.quantity,
        "AmountFC": line.amount_fc,
        "VATCode": line.vat_code,
        "VATAmountFC": line.vat_amount_fc,
        "CostCenter": line.cost_center,
        "CostUnit": line.cost_unit,
    }
    return any(not _same(value, current[field]) for field, value in wanted.items())


def _lines_update(client, division: int, current, wanted: list[dict]) -> int:
    """PUT changed lines, POST new ones, then DELETE the ones left over; return the number of writes."""
    writes = 0
    for line, fields in zip(current.lines, wanted, strict=False):
        if _line_differs(line, fields):
            client.update_sales_entry_line(division, line.id, fields)
            writes += 1
    for fields in wanted[len(current.lines) :]:
        client.create_sales_entry_line(division, {**fields, "EntryID": current.entry_id})
        writes += 1
    for line in current.lines[len(wanted) :]:
        client.delete_sales_entry_line(division, line.id)
        writes += 1
    return writes


def entry_update(client, division: int, current, payload: dict, previous: dict | None) -> int:
    """Bring an existing entry in line with the payload in place; return the number of writes (0: nothing changed).

    Raises FunctionalError when Exact refuses (the caller replaces a processed entry or one in a closed period).
    """
    writes = 0
    changes = _header_changes(current, payload, previous)
    if changes:
        client.update_sales_entry(division, current.entry_id, changes)
        writes += 1
    return writes + _lines_update(client, division, current, payload["SalesEntryLines"])


def _reversal_of(client, division: int, entry, number: str):
    payload = reversal_payload(entry, your_ref=reversal_ref(number), entry_date=timezone.localdate())
    try:
        return client.create_sales_entry(division, payload), payload
    except AmbiguousError:
        # The lost reversal is the "-R" entry cancelling exactly this entry's total.
        found = [
            e
            for e in client.find_sales_entries(division, your_ref=payload["YourRef"])
            if e.amount_fc == -entry.amount_fc
        ]
        if len(found) != 1:
            raise
        return found[0], payload


def entry_remove(client, division: int, entry_id, number: str) -> tuple[str, dict | None]:
    """Delete the entry, or, when Exact refuses (processed, closed period), post a reversing entry.

    Returns ("deleted" | "reversed" | "gone", reversal payload or None).
    """
    try:
        client.delete_sales_entry(division, entry_id)
        return "deleted", None
    except NotFoundError:
        return "gone", None
    except FunctionalError as error:
        if not is_refused_change(error):
            raise
    entry = client.get_sales_entry(division, entry_id)
    if entry is None:
        return "gone", None
    _, payload = _reversal_of(client, division, entry, number)
    return "reversed", payload


def entry_reverse(client, division: int, entry, number: str) -> dict:
    """Cancel a processed entry with a reversing entry (it cannot be deleted); return the reversal payload."""
    _, payload = _reversal_of(client, division, entry, number)
    return payload
