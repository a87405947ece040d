"""Cached Exact lookups per installation and division: journals, G/L accounts, cost centers/units, VAT codes.

Each lookup costs one of the division's 60 calls a minute, so the lists are kept in a `LookupStore` (the
database's ExactLookupCache, see `sync/connections/exact.py`) for 12 hours, and fetched again at most once per ExactLookups instance and kind when a code is not found
(an administrator may just have created it in Exact).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from sync.exact import entities as e

CACHE_TTL = timedelta(hours=12)
KINDS = {
    "journals": ("journals", e.Journal),
    "gl_accounts": ("gl_accounts", e.GLAccount),
    "cost_centers": ("cost_centers", e.CostCenter),
    "cost_units": ("cost_units", e.CostUnit),
    "vat_codes": ("vat_codes", e.VatCode),
}
SALES_VAT_TRANSACTION_TYPES = ("S", "B")


Parse = Callable[[list[dict[str, Any]]], list]


class LookupStore(Protocol):
    """Where the lookup lists of one installation are kept between bookings, as JSON rows."""

    def read(self, division: int, kind: str, parse: Parse) -> tuple[list, datetime] | None:
        """The stored list of a kind, turned into entities by `parse`, and when it was fetched; or None.

        A store may keep what `parse` made for the same stored copy (it is pure, the entities are frozen).
        """
        ...

    def write(self, division: int, kind: str, rows: list[dict[str, Any]], fetched_at: datetime, items: list) -> None:
        """Keep a list just fetched: `rows` its JSON, `items` the entities they stand for."""
        ...

    def clear(self, division: int) -> None:
        """Forget every list of the division."""
        ...


def _to_json(item) -> dict:
    return {k: (str(v) if isinstance(v, UUID | Decimal) else v) for k, v in dataclasses.asdict(item).items()}


def _parser(cls) -> Parse:
    return lambda rows: [_from_json(cls, item) for item in rows]


def _from_json(cls, data: dict):
    values = {}
    for field in dataclasses.fields(cls):
        value = data.get(field.name)
        kind = str(field.type)
        if value is not None and "UUID" in kind:
            value = UUID(value)
        elif value is not None and "Decimal" in kind:
            value = Decimal(value)
        values[field.name] = value
    return cls(**values)


class ExactLookups:
    """The lookup lists of one division, through the store."""

    def __init__(self, client, *, store: LookupStore, division: int):
        self.client = client
        self.store = store
        self.division = int(division)
        self._loaded: dict[str, list] = {}
        self._refetched: set[str] = set()

    def journal(self, code: str) -> e.Journal | None:
        """Return the journal with this code."""
        return self._find("journals", code)

    def gl_account(self, code: str) -> e.GLAccount | None:
        """Return the G/L account with this code."""
        return self._find("gl_accounts", code)

    def cost_center(self, code: str) -> e.CostCenter | None:
        """Return the cost center with this code."""
        return self._find("cost_centers", code)

    def cost_unit(self, code: str) -> e.CostUnit | None:
        """Return the cost unit with this code."""
        return self._find("cost_units", code)

    def vat_code(self, code: str) -> e.VatCode | None:
        """Return the VAT code with this code (compared trimmed: Exact may pad codes to 3)."""
        return self._find("vat_codes", code)

    def sales_vat_codes(self) -> list[e.VatCode]:
        """Return the VAT codes usable on sales: transaction type S or B, not blocked."""
        return [v for v in self.all("vat_codes") if v.transaction_type in SALES_VAT_TRANSACTION_TYPES and not v.blocked]

    def all(self, kind: str) -> list:
        """Return the whole list of a kind, from the cache while it is younger than 12 hours."""
        if kind not in KINDS:
            raise ValueError(f"Unknown lookup kind: {kind}")
        if kind not in self._loaded:
            self._loaded[kind] = self._cached(kind)
        return self._loaded[kind]

    def invalidate(self) -> None:
        """Forget every cached list of this division."""
        self.store.clear(self.division)
        self._loaded.clear()

    def _find(self, kind: str, code: str):
        wanted = str(code or "").strip()
        if not wanted:
            return None
        found = self._match(kind, wanted)
        if found is None and kind not in self._refetched:
            self._refetched.add(kind)
            self._loaded[kind] = self._fetch(kind)
            found = self._match(kind, wanted)
        return found

    def _match(self, kind: str, wanted: str):
        return next((item for item in self.all(kind) if item.code.strip() == wanted), None)

    def _cached(self, kind: str) -> list:
        _, cls = KINDS[kind]
        stored = self.store.read(self.division, kind, _parser(cls))
        if stored is not None and datetime.now(UTC) - stored[1] < CACHE_TTL:
            return stored[0]
        self._refetched.add(kind)
        return self._fetch(kind)

    def _fetch(self, kind: str) -> list:
        method, _ = KINDS[kind]
        items = getattr(self.client, method)(self.division)
        self.store.write(self.division, kind, [_to_json(item) for item in items], datetime.now(UTC), items)
        return items
