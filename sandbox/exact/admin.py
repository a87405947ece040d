"""Back-office operations a user performs in Exact's own UI, exposed to tests and the demo."""

from __future__ import annotations

from .division import Division
from .odata import local_naive


def merge_accounts(division: Division, survivor_id: str, merged_id: str, now) -> None:
    """Exact's merge is undocumented; assume the merged GUID disappears and its entries move to the
    survivor [U], so stale stored GUIDs can be tested."""
    survivor = division.accounts.get(survivor_id)
    merged = division.accounts.pop(merged_id, None)
    if survivor is None or merged is None:
        raise KeyError("both accounts must exist")
    for entry in division.entries.values():
        if entry["Customer"] == merged_id:
            entry["Customer"] = survivor_id
            entry["CustomerName"] = survivor["Name"]
            entry["Modified"] = local_naive(now)


def process_entry(division: Division, entry_id: str) -> None:
    entry = division.entries[entry_id]
    entry["Status"] = 50
    entry["StatusDescription"] = "Verwerkt"
