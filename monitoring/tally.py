"""Counters shared by every process: one UPDATE per event on a row per metric and label set."""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.db import IntegrityError, connections, transaction

from monitoring.models import Tally

# Upper bounds (seconds) of the booking-duration histogram's buckets; the last bucket is +Inf.
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
INF = "+Inf"


def labels_key(labels: Mapping[str, object]) -> str:
    return json.dumps({key: str(value) for key, value in labels.items()}, sort_keys=True)


def tally_add(name: str, labels: Mapping[str, object], *, value: float = 0.0) -> None:
    """Add one event (and `value` to the sum) to the tally of `name` with these labels."""
    key = labels_key(labels)
    if _add_to_row(name, key, value):
        return
    try:
        with transaction.atomic():
            Tally.objects.create(name=name, labels=key, count=1, total=value)
    except IntegrityError:
        # Another process made the row meanwhile.
        _add_to_row(name, key, value)


def _add_sql() -> str:
    # Column names of our own only, no input: the values go as parameters.
    return f"UPDATE {Tally._meta.db_table} SET count = count + 1, total = total + %s WHERE name = %s AND labels = %s"  # noqa: S608


# Written once: every booking and webhook answer adds to a tally, and the ORM would build it again each time.
_ADD_SQL = _add_sql()


def _add_to_row(name: str, key: str, value: float) -> bool:
    """One more event on the row of `name` and `key`; False when that row does not exist yet."""
    with connections[Tally.objects.db].cursor() as cursor:
        cursor.execute(_ADD_SQL, [value, name, key])
        return cursor.rowcount == 1


def duration_bucket(seconds: float) -> str:
    """The upper bound of the histogram bucket a duration falls in (as the `le` label writes it)."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return INF
