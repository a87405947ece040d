"""A JSON-ready dump of the whole state for `GET /_sandbox/state` and assertions in tests."""

from __future__ import annotations

from datetime import datetime


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _rows(store: dict) -> list[dict]:
    return [{name: _plain(value) for name, value in row.items()} for row in store.values()]


def _division(division) -> dict:
    entries = []
    for row in division.entries.values():
        entry = {name: _plain(value) for name, value in row.items()}
        entry["SalesEntryLines"] = _rows({line["ID"]: line for line in division.lines_of(row["EntryID"])})
        entries.append(entry)
    return {
        "code": division.code,
        "name": division.name,
        "accounts": _rows(division.accounts),
        "entries": entries,
        "documents": _rows(division.documents),
        "attachments": _rows(division.attachments),
        "journals": _rows(division.journals),
        "gl_accounts": _rows(division.gl_accounts),
        "cost_centers": _rows(division.cost_centers),
        "cost_units": _rows(division.cost_units),
        "vat_codes": _rows(division.vat_codes),
        "closed_periods": sorted(list(p) for p in division.closed_periods),
    }


def snapshot_state(state) -> dict:
    return {
        "now": state.clock.now().isoformat(),
        "clients": [{"client_id": c.client_id, "redirect_uris": c.redirect_uris} for c in state.clients.values()],
        "users": [vars(user) for user in state.users.values()],
        "divisions": {str(code): _division(division) for code, division in state.divisions.items()},
        "grants": [
            {"client_id": g.client_id, "user_id": g.user_id, "alive": g.alive} for g in state.tokens.grants.values()
        ],
        "faults": [vars(fault) for fault in state.faults.faults],
    }
