"""Statements the dispatcher runs after every booking, compiled to SQL once per process (issue 8: CPU).

The dispatcher's reads and updates have a fixed shape: only ids and moments change. Built through the ORM at
every call, each costs about a millisecond of CPU in filters, joins and compilation, against a fraction of that
to run. A `CompiledStatement` builds its QuerySet once with stand-in values for its arguments (integers and
aware datetimes), keeps the compiler's SQL and where each stand-in landed among the parameters (a stand-in may
land in several places: `now` is compared more than once), and then runs that SQL with the real values, the
datetimes adapted as the backend adapts them. Reads give the rows of `values_list`, through the compiler's own
converters; updates give the number of rows changed. Same statement as the QuerySet's; only the building is saved.

Only for statements whose shape never changes with the values: an argument that is not an int or an aware
datetime (None reads `IS NULL`, another statement) is run through the QuerySet itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.subqueries import UpdateQuery

from sync.compiled_read import COMPILED

# Stand-ins, found again by value among the compiled parameters: positive and within a 32-bit column's range
# (Django compiles a lookup outside a field's range to "no rows"); datetimes no real schedule holds.
_INT_STAND_INS = tuple(2_047_483_101 + n for n in range(8))
_DATETIME_STAND_INS = tuple(datetime(2001, 2, 3, 4, 5, n, 678_000 + n, tzinfo=UTC) for n in range(8))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, ...], ...]  # per argument, its positions among the params
    compiler: SQLCompiler | None  # reads only: turns rows into values through the field converters


class CompiledStatement:
    """`build(*args)` -> QuerySet (a `values_list` read) or (QuerySet, {field: value}) (an update of those
    fields); compiled once per database alias and thread. `run(*args)` -> rows read, or rows updated."""

    def __init__(self, build: Callable[..., Any]) -> None:
        self._build = build
        self._compiled: dict[tuple[str, int], _Compiled] = {}
        self._model: type[Model] | None = None  # known after the first build
        self._writes = False
        self._lock = threading.Lock()
        COMPILED.add(self)  # compiled again after a fork (sync/compiled_read.py)

    def forget(self) -> None:
        self._compiled.clear()
        self._lock = threading.Lock()

    def run(self, *args: Any) -> Any:
        if not all(_kind(arg) for arg in args):
            return _run_orm(self._build(*args))
        # The database as the router names it, without building the QuerySet (that is the cost saved).
        alias = self._alias()
        compiled = self._compiled.get((alias, threading.get_ident())) if alias is not None else None
        if alias is None or compiled is None:
            stand_ins = _stand_ins_for(args)
            built = self._build(*stand_ins)
            queryset = built[0] if isinstance(built, tuple) else built
            alias, compiled = queryset.db, self._compile(built, stand_ins)
            with self._lock:
                self._compiled[alias, threading.get_ident()] = compiled
                self._model, self._writes = queryset.model, isinstance(built, tuple)
        return self._execute(compiled, alias, args)

    def _alias(self) -> str | None:
        if self._model is None:
            return None
        return router.db_for_write(self._model) if self._writes else router.db_for_read(self._model)

    @staticmethod
    def _compile(built: Any, stand_ins: tuple[Any, ...]) -> _Compiled:
        if isinstance(built, tuple):
            queryset, values = built
            query = queryset.query.chain(UpdateQuery)
            query.add_update_values(values)
            sql, params = query.get_compiler(queryset.db).as_sql()
            compiler = None
        else:
            queryset = built
            query = queryset.query
            # values_list gives its columns in the order asked; the raw rows come in the SQL's order.
            natural = [*query.extra_select, *query.values_select, *query.annotation_select]
            if not queryset._fields or list(queryset._fields) != natural:
                raise ValueError(f"Not a values_list read in the SQL's column order ({natural}): {queryset._fields}")
            compiler = query.get_compiler(using=queryset.db)
            sql, params = compiler.as_sql()
        ops = connections[queryset.db].ops
        adapted = [_adapt(ops, stand_in) for stand_in in stand_ins]
        slots = tuple(tuple(n for n, param in enumerate(params) if param == value) for value in adapted)
        if any(not positions for positions in slots):
            raise ValueError(f"An argument is not a parameter of the statement: {sql}")
        return _Compiled(sql=sql, params=tuple(params), slots=slots, compiler=compiler)

    @staticmethod
    def _execute(compiled: _Compiled, alias: str, args: tuple[Any, ...]) -> Any:
        connection = connections[alias]
        params = list(compiled.params)
        for positions, arg in zip(compiled.slots, args, strict=True):
            value = _adapt(connection.ops, arg)
            for position in positions:
                params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            if compiled.compiler is None:
                return cursor.rowcount
            fetched = cursor.fetchall()
        return [tuple(row) for row in compiled.compiler.results_iter([fetched])]


def _kind(arg: Any) -> bool:
    return type(arg) is int or (isinstance(arg, datetime) and arg.tzinfo is not None)


def _stand_ins_for(args: tuple[Any, ...]) -> tuple[Any, ...]:
    ints, moments = iter(_INT_STAND_INS), iter(_DATETIME_STAND_INS)
    return tuple(next(ints) if type(arg) is int else next(moments) for arg in args)


def _adapt(ops, value: Any) -> Any:
    """A value as the compiler put it among the params: datetimes as the backend stores them."""
    return ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


def _run_orm(built: Any) -> Any:
    if isinstance(built, tuple):
        queryset, values = built
        return queryset.update(**values)
    return [tuple(row) if isinstance(row, (list, tuple)) else (row,) for row in built]
