"""Shared helpers for the in-memory tables: id sequences, lookups, timestamp bumps."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from functools import wraps

from sandbox.eduframe.errors import NotFound

# Realistic, distinct starting ids per table so a mixed-up id in a client shows up as a 404.
ID_STARTS = {
    "invoice_vats": 3,
    "signup_questions": 41,
    "accounts": 3001,
    "courses": 801,
    "planned_courses": 4401,
    "catalog_products": 901,
    "catalog_variants": 5101,
    "discount_codes": 61,
    "orders": 9901,
    "invoices": 48001,
    "invoice_items": 77001,
    "payments": 15001,
}


def new_tables() -> dict[str, dict[int, dict]]:
    # Invoice items live inside their invoice; they only need an id sequence.
    return {name: {} for name in ID_STARTS if name != "invoice_items"}


def new_sequences() -> dict[str, itertools.count]:
    return {name: itertools.count(start) for name, start in ID_STARTS.items()}


def locked(method):
    """Run a state method under the state's re-entrant lock (the server is threaded)."""

    @wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


def get_record(table: dict[int, dict], record_id, label: str) -> dict:
    """Return a live record or raise NotFound; deleted records count as missing."""
    try:
        record = table[int(record_id)]
    except (KeyError, TypeError, ValueError):
        raise NotFound(f"{label} not found") from None
    if record.get("_deleted"):
        raise NotFound(f"{label} not found")
    return record


def bump(record: dict, now: datetime) -> None:
    """Set updated_at to now, strictly later than before so every mutation is visible even on a frozen clock."""
    previous = record.get("updated_at")
    if previous is not None and now <= previous:
        now = previous + timedelta(milliseconds=1)
    record["updated_at"] = now


class Sequences:
    """Thread-safe id generators per table."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counters = new_sequences()

    def next(self, table: str) -> int:
        with self._lock:
            return next(self._counters[table])
