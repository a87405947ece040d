"""Counters shared by every process: one UPDATE per event on a row per metric and label set."""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import F

from monitoring.models import Tally

# Upper bounds (seconds) of the booking-duration histogram's buckets; the last bucket is +Inf.
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
INF = "+Inf"


def labels_key(labels: Mapping[str, object]) -> str:
    return json.dumps({key: str(value) for key, value in labels.items()}, sort_keys=True)


def tally_add(name: str, labels: Mapping[str, object], *, value: float = 0.0) -> None:
    """Add one event (and `value` to the sum) to the tally of `name` with these labels."""
    key = labels_key(labels)
    rows = Tally.objects.filter(name=name, labels=key)
    if rows.update(count=F("count") + 1, total=F("total") + value):
        return
    try:
        with transaction.atomic():
            Tally.objects.create(name=name, labels=key, count=1, total=value)
    except IntegrityError:
        # Another process made the row meanwhile.
        rows.update(count=F("count") + 1, total=F("total") + value)


def duration_bucket(seconds: float) -> str:
    """The upper bound of the histogram bucket a duration falls in (as the `le` label writes it)."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return INF
