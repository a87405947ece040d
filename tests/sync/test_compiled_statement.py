"""Statements compiled once per process read and write what their QuerySets read and write."""

from __future__ import annotations

import os
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db.models import Count, Q
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from sync.compiled_statement import CompiledStatement
from sync.models import InvoiceRecord
from tests.factories import InstallationFactory, InvoiceRecordFactory

pytestmark = pytest.mark.django_db


def _due_before(installation_id, now):
    # `now` lands twice among the parameters: both places take the real moment.
    due = Q(due_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    return InvoiceRecord.objects.filter(due, installation_id=installation_id).order_by("id").values_list("id", "due_at")


DUE = CompiledStatement(_due_before)
PER_STATE = CompiledStatement(
    lambda installation_id: (
        InvoiceRecord.objects.filter(installation_id=installation_id)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
)
SENT = CompiledStatement(
    lambda pk, now, calls: (
        InvoiceRecord.objects.filter(pk=pk, queued_at__isnull=True),
        {"queued_at": now, "reserved_calls": calls},
    )
)


def test_a_compiled_read_gives_the_rows_the_queryset_gives_with_the_real_values_each_time():
    now = timezone.now()
    installation = InstallationFactory()
    early = InvoiceRecordFactory(installation=installation, due_at=now - timedelta(minutes=5))
    InvoiceRecordFactory(installation=installation, due_at=now + timedelta(minutes=5))
    held = InvoiceRecordFactory(installation=installation, due_at=now - timedelta(minutes=1))
    InvoiceRecord.objects.filter(pk=held.pk).update(claimed_until=now + timedelta(minutes=1))
    assert DUE.run(installation.pk, now) == list(_due_before(installation.pk, now)) == [(early.pk, early.due_at)]
    later = now + timedelta(minutes=10)  # the same statement, other values: the held claim has run out by then
    assert [row[0] for row in DUE.run(installation.pk, later)] == [
        row[0] for row in _due_before(installation.pk, later)
    ]
    assert len(DUE.run(installation.pk, later)) == 3
    assert DUE.run(installation.pk + 1000, later) == []


def test_a_grouped_read_and_an_update_are_built_once():
    installation = InstallationFactory()
    record = InvoiceRecordFactory(installation=installation)
    builds = []
    per_state = CompiledStatement(lambda installation_id: builds.append(1) or PER_STATE._build(installation_id))
    per_state.run(installation.pk)
    now = timezone.now()
    SENT.run(record.pk + 1000, now, 1)
    with patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as compiled:
        assert per_state.run(installation.pk) == [("pending", 1)]
        assert SENT.run(record.pk, now, 4) == 1
        assert SENT.run(record.pk, now, 5) == 0  # the condition holds no more: no row changed
    assert (compiled.call_count, len(builds)) == (0, 1)  # neither compiled nor even built again
    record.refresh_from_db()
    assert (record.queued_at, record.reserved_calls) == (now, 4)


def test_an_argument_of_another_kind_runs_through_the_queryset():
    installation = InstallationFactory()
    record = InvoiceRecordFactory(installation=installation, due_at=timezone.now() - timedelta(minutes=1))
    now = timezone.now()
    with patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as built:
        assert DUE.run(str(installation.pk), now) == [(record.pk, record.due_at)]
    assert built.call_count == 1  # the QuerySet's own statement, not a compiled one


def test_a_read_whose_columns_the_sql_gives_in_another_order_is_refused():
    shuffled = CompiledStatement(
        lambda installation_id: (
            InvoiceRecord.objects.filter(installation_id=installation_id)
            .values("state")
            .annotate(n=Count("id"))
            .values_list("n", "state")
        )
    )
    with pytest.raises(ValueError, match="column order"):
        shuffled.run(InstallationFactory().pk)


def test_a_forked_child_compiles_again():
    # Celery's prefork pool forks the worker: a compiler holds the parent's connection.
    PER_STATE.run(InstallationFactory().pk)
    assert PER_STATE._compiled
    child = os.fork()
    if child == 0:
        os._exit(0 if not PER_STATE._compiled else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert PER_STATE._compiled  # the parent keeps its own
