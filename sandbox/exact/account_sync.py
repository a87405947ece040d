"""The sync view of `crm/Accounts`: the rows `sync/CRM/Accounts` serves, and the accounts `sync/Deleted` lists.

`sync/CRM/Accounts` exists in Exact's REST API (reference page `SyncCRMAccounts`; Exact's own sync sample
`exactonline/exactonline-api-dotnet-sync-demo` reads it with `$filter=Timestamp gt <n>L`) and carries the CRUD
account's fields plus the `Timestamp` row version [K]. Deleted accounts come back from `sync/Deleted` with
`EntityType` 2 (the same sample's `DeletedEntityType.Accounts = 2`) [K].

The stamps share the division's counter with the ledger's (ledger.py `Stamps`): Exact's row versions are one
ever-growing value [R Invantive], so every change after a timestamp comes back with a larger one, whatever the
table. An account is stamped when a sync read first sees it changed (by content), as the ledger's lines are.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from .division import Division
from .ledger import stamps_of

ACCOUNTS_ENTITY = 2  # sync/Deleted EntityType 2 = Accounts [K exactonline sync demo]
_NAMESPACE = uuid.UUID("0d3c2f8e-6a51-4c7b-9f0e-8b1a2c3d4e5f")


def _digest(row: dict) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()


def account_rows(division: Division) -> list[dict]:
    """Every account of the division with the `Timestamp` of its last change; deletions are noted."""
    stamps = stamps_of(division)
    out: list[dict] = []
    for account_id, row in sorted(division.accounts.items(), key=lambda item: str(item[1].get("Created") or "")):
        digest = _digest(row)
        known = stamps.accounts.get(account_id)
        if known is None or known[0] != digest:
            stamps.counter += 1
            known = (digest, stamps.counter)
            stamps.accounts[account_id] = known
        out.append({**row, "Timestamp": known[1]})
    for account_id in sorted(set(stamps.accounts) - set(division.accounts)):
        del stamps.accounts[account_id]
        stamps.counter += 1
        stamps.deleted.append(
            {
                "Timestamp": stamps.counter,
                "EntityKey": account_id,
                "EntityType": ACCOUNTS_ENTITY,
                "ID": str(uuid.uuid5(_NAMESPACE, f"{account_id}/{stamps.counter}")),
                "Division": division.code,
            }
        )
    return out
