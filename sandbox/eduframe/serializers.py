"""Turn internal records into the JSON Eduframe returns: internal `_keys` dropped, dates and times formatted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sandbox.eduframe.clock import iso_date, iso_timestamp


def public(value):
    """Recursively format a record for the API; keys starting with "_" are the simulator's own."""
    if isinstance(value, dict):
        return {key: public(item) for key, item in value.items() if not key.startswith("_")}
    if isinstance(value, list):
        return [public(item) for item in value]
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, date):
        return iso_date(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def webhook_json(webhook: dict) -> dict:
    return public(webhook)


def notification_json(notification: dict) -> dict:
    return public(notification)
