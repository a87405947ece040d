"""The parsed Exact lookup lists a process has seen, keyed by the stored copy they came from.

Turning a stored list (JSON in ExactLookupCache) back into entities costs a few ms of CPU per booking, and the
stored copy changes only when a list is fetched again (every 12 hours, or when a code is missing). The key
names the copy (its row and fetched-at), so a refetch by any process makes a new key and the old entry is
never used again; the entities are frozen, so bookings may share them. Bounded: least recently used go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

# Five kinds per division: room for about fifty tenants' lists in each worker process.
MAX_ENTRIES = 256

MemoKey = tuple[Any, ...]
_entries: OrderedDict[MemoKey, tuple] = OrderedDict()
_lock = threading.Lock()


def memo_key(installation_id: int, division: int, kind: str, row_id: int, fetched_at: datetime) -> MemoKey:
    return (installation_id, division, kind, row_id, fetched_at)


def parsed(key: MemoKey, load: Callable[[], list]) -> list:
    """The entities of the stored copy `key`, parsed by `load` only the first time (a fresh list each call)."""
    with _lock:
        items = _entries.get(key)
        if items is not None:
            _entries.move_to_end(key)
            return list(items)
    items = tuple(load())
    remember(key, items)
    return list(items)


def remember(key: MemoKey, items) -> None:
    with _lock:
        _entries[key] = tuple(items)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget_all() -> None:
    """Empty the memo (tests)."""
    with _lock:
        _entries.clear()
