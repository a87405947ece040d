"""Reads that every booking makes, compiled to SQL once per process (issue 8: CPU per booked invoice).

Through a QuerySet the ORM builds the same SELECT again at every call: the filters, the joins of
`select_related`, the column list, the quoting, about 0.3-0.5 ms of CPU a read against 0.1-0.2 ms for running
it; a booking makes half a dozen such reads. A `CompiledRead` builds its QuerySet once, with stand-in integer
values for its parameters, keeps the compiler's SQL and the positions of those values, and then runs that SQL
with the real values, turning rows into model instances as Django's own ModelIterable does (the same columns,
converters, `from_db` and related populators). Same statement, same objects; only the building is saved.

Only for queries whose shape never changes with the values: integer parameters (ids), no annotations. A value
that is not an int (None reads `IS NULL`, another statement) is read through the QuerySet itself.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=models.Model)

# Stand-ins for the parameters while the statement is built, found again by value among the compiled params:
# positive and within a 32-bit column's range, since Django compiles a lookup outside a field's range to "no rows".
_STAND_INS = tuple(2_047_483_001 + n for n in range(8))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]  # where each argument goes among the params
    compiler: SQLCompiler
    init_list: tuple[str, ...]
    fields: slice
    related: list


class CompiledRead(Generic[M]):
    """`build(*ids)` -> QuerySet, compiled once per database alias; `rows(*ids)` runs it with the real ids."""

    def __init__(self, build: Callable[..., models.QuerySet[M]]) -> None:
        self._build = build
        # Per database and thread: a compiler holds its thread's connection, which its converters are handed.
        self._compiled: dict[tuple[str, int], _Compiled] = {}
        self._model: type[M] | None = None  # known after the first build; its reads' database is the router's
        self._lock = threading.Lock()
        COMPILED.add(self)

    def forget(self) -> None:
        self._compiled.clear()
        self._lock = threading.Lock()

    def rows(self, *args: Any) -> list[M]:
        if not all(type(arg) is int for arg in args):
            return list(self._build(*args))
        alias: str | None = router.db_for_read(self._model) if self._model is not None else None
        compiled = self._compiled.get((alias, threading.get_ident())) if alias is not None else None
        if alias is None or compiled is None:
            queryset = self._build(*_STAND_INS[: len(args)])
            alias, compiled = queryset.db, self._compile(queryset, len(args))
        params = list(compiled.params)
        for position, arg in zip(compiled.positions, args, strict=True):
            params[position] = arg
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        return [self._instance(compiled, alias, row) for row in compiled.compiler.results_iter([fetched])]

    def _compile(self, queryset: models.QuerySet[M], count: int) -> _Compiled:
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet as error:
            raise ValueError("A stand-in is outside the range of a field it filters") from error
        positions = tuple(params.index(stand_in) for stand_in in _STAND_INS[:count])
        known_related = getattr(queryset, "_known_related_objects", None)  # set by related managers only
        if compiler.annotation_col_map or known_related or len(set(positions)) != count:
            raise ValueError(f"Not a read of fixed shape: {sql}")
        if any(params.count(stand_in) != 1 for stand_in in _STAND_INS[:count]):
            raise ValueError(f"A parameter is used twice: {sql}")
        info = compiler.klass_info
        first, last = info["select_fields"][0], info["select_fields"][-1] + 1
        compiled = _Compiled(
            sql=sql,
            params=tuple(params),
            positions=positions,
            compiler=compiler,
            init_list=tuple(column[0].target.attname for column in compiler.select[first:last]),
            fields=slice(first, last),
            # Django 5.2's signature (the type stubs describe a later one).
            related=get_related_populators(info, compiler.select, queryset.db),  # type: ignore[call-arg]
        )
        with self._lock:
            self._compiled[queryset.db, threading.get_ident()] = compiled
            self._model = queryset.model
        return compiled

    @staticmethod
    def _instance(compiled: _Compiled, db: str, row) -> M:
        model = compiled.compiler.klass_info["model"]
        instance = model.from_db(db, list(compiled.init_list), row[compiled.fields])
        for populator in compiled.related:
            populator.populate(row, instance)
        return instance


class Forgets(Protocol):
    def forget(self) -> None: ...


# Everything compiled once per process (these reads, sync/compiled_statement.py's statements).
COMPILED: weakref.WeakSet[Forgets] = weakref.WeakSet()


def _forget_after_fork() -> None:
    """A forked child (Celery's prefork pool) compiles again: a compiler holds a connection of the parent's."""
    for compiled in list(COMPILED):
        compiled.forget()


os.register_at_fork(after_in_child=_forget_after_fork)
