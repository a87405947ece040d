"""Saving a booking's own rows (its InvoiceRecord and SyncAttempt) with less CPU (issue 8).

A booking writes these rows up to seven times. Through `Model.save(update_fields=...)` the ORM builds the
same UPDATE statement each time (0.4-0.6 ms of CPU, more with every column), and the final saves sent every
column, JSON included, whether it changed or not. Here each UPDATE statement is written once per model and
set of columns, and the final saves send only what changed since the row was read or last written.

`row_update` sends no save signal: use it only where no receiver acts. InvoiceRecord has none; SyncAttempt's
(monitoring/signals.py) acts only on a save that writes `finished_at`, so the attempt's last save goes through
`row_save`, which sends pre_save and post_save as `save(update_fields=...)` does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connections, models, router
from django.db.models.signals import post_save, pre_save


def values_seen(instance: models.Model) -> dict[str, Any]:
    """The instance's column values as they are now (JSON copied: a booking changes its dicts in place)."""
    return {
        field.name: _copied(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


def _copied(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValueError(f"{model.__name__}.{name} is not a column.")
    return field


def changed_fields(instance: models.Model, seen: dict[str, Any]) -> list[str]:
    """The fields whose value differs from `seen` (values_seen of the row as read or last written)."""
    model = type(instance)
    return [name for name, before in seen.items() if getattr(instance, _field(model, name).attname) != before]


def row_update(instance: models.Model, fields: Iterable[str], seen: dict[str, Any] | None = None) -> None:
    """`instance.save(update_fields=fields)` without building the statement again and without save signals:
    the same columns written, auto_now fields set, DatabaseError when the row is gone. `seen` (values_seen)
    learns what was written."""
    names = tuple(dict.fromkeys(fields))
    if not names:
        return
    model = type(instance)
    db = connections[router.db_for_write(model)]
    values = [_field(model, name).get_db_prep_save(_field(model, name).pre_save(instance, False), db) for name in names]
    with db.cursor() as cursor:
        cursor.execute(_update_sql(model, names, db.alias), [*values, instance.pk])
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    if seen is not None:
        seen.update({name: _copied(getattr(instance, _field(model, name).attname)) for name in names})


def row_save(instance: models.Model, fields: Iterable[str], seen: dict[str, Any] | None = None) -> None:
    """`instance.save(update_fields=fields)` for a row read whole: the UPDATE of row_update, between the pre_save
    and post_save signals save() sends (nothing at all when no field is named, as save() does)."""
    names = tuple(dict.fromkeys(fields))
    if not names:
        return
    model, using = type(instance), router.db_for_write(type(instance), instance=instance)
    update_fields = frozenset(names)
    pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=update_fields)
    row_update(instance, names, seen)
    instance._state.db, instance._state.adding = using, False
    post_save.send(sender=model, instance=instance, created=False, update_fields=update_fields, raw=False, using=using)


@lru_cache(maxsize=64)
def _update_sql(model: type[models.Model], names: tuple[str, ...], alias: str) -> str:
    """The UPDATE of these columns of one row, written once per model and columns (names are our own fields')."""
    quote = connections[alias].ops.quote_name
    columns = ", ".join(f"{quote(str(_field(model, name).column))} = %s" for name in names)
    key = _field(model, model._meta.pk.name if model._meta.pk else "id")
    return f"UPDATE {quote(model._meta.db_table)} SET {columns} WHERE {quote(str(key.column))} = %s"  # noqa: S608
