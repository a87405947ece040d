"""Reads compiled once per process give what the QuerySet gives, read afresh at every call."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.db.models.sql.compiler import SQLCompiler
from django.forms.models import model_to_dict

from sync.compiled_read import CompiledRead
from sync.models import AccountLink, InvoiceRecord
from tests.factories import InstallationFactory

pytestmark = pytest.mark.django_db

RECORD = CompiledRead(lambda pk: InvoiceRecord.objects.select_related("installation").filter(pk=pk))
LINK = CompiledRead(
    lambda installation_id, account_id: AccountLink.objects.filter(
        installation_id=installation_id, eduframe_account_id=account_id
    ).order_by("pk")[:1]
)


def _record() -> InvoiceRecord:
    installation = InstallationFactory(eduframe_access_token="secret-token")
    return InvoiceRecord.objects.create(installation=installation, eduframe_invoice_id=77, booked_payload={"a": [1]})


def test_a_compiled_read_gives_the_objects_the_queryset_gives():
    record = _record()
    (compiled,) = RECORD.rows(record.pk)
    orm = InvoiceRecord.objects.select_related("installation").get(pk=record.pk)
    assert model_to_dict(compiled) == model_to_dict(orm)
    assert model_to_dict(compiled.installation) == model_to_dict(orm.installation)
    assert compiled.installation.eduframe_access_token == "secret-token"  # decrypted as the field reads it
    assert (compiled._state.adding, compiled._state.db) == (False, "default")
    assert RECORD.rows(record.pk + 1000) == []


def test_it_is_built_once_and_reads_the_row_as_it_is_now():
    record = _record()
    RECORD.rows(record.pk)  # compiled (at the latest) here
    with patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as built:
        InvoiceRecord.objects.filter(pk=record.pk).update(number="2026-00001")
        (again,) = RECORD.rows(record.pk)
    assert again.number == "2026-00001"
    assert built.call_count == 0


def test_reads_with_two_ids_put_each_in_its_place():
    record = _record()
    AccountLink.objects.create(installation=record.installation, eduframe_account_id=5)
    assert [link.eduframe_account_id for link in LINK.rows(record.installation_id, 5)] == [5]
    assert LINK.rows(record.installation_id, 6) == []
    assert LINK.rows(record.installation_id + 1, 5) == []


def test_a_value_that_changes_the_statement_goes_through_the_queryset():
    record = _record()  # no Eduframe account yet
    by_account = CompiledRead(lambda account_id: InvoiceRecord.objects.filter(eduframe_account_id=account_id))
    assert by_account.rows(None) == [record]  # IS NULL: another statement than `= %s`
    assert by_account.rows(5) == []


def test_a_query_whose_shape_depends_on_more_than_ids_is_refused():
    twice = CompiledRead(lambda pk: InvoiceRecord.objects.filter(pk=pk, eduframe_invoice_id=pk))
    with pytest.raises(ValueError, match="twice"):
        twice.rows(1)
