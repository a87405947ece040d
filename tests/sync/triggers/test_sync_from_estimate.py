"""sync_from_estimate: what moving `Sync from` back would add, in invoices, Exact calls and days."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from plugin.models import ExactConnection
from sandbox.eduframe.clock import DEFAULT_TZ
from sync.models import AccountLink, InvoiceRecord, SyncAttempt
from sync.services.reconcile import SyncFromEstimate, sync_from_estimate
from tests.factories import InvoiceRecordFactory


@pytest.fixture
def eduframe(eduframe_sandbox):
    """Three open invoices dated 1 May 2026 (two for one new customer, one for another); Sync from is 1 January."""
    state = eduframe_sandbox.state
    state.clock.set(datetime(2026, 5, 1, 10, 0, tzinfo=DEFAULT_TZ))
    vat = state.add_vat("21%", "21.0")
    state.accounts = [state.add_account("Delta"), state.add_account("Polder")]
    item = {"name": "Course", "units": 1, "unit_price": "100.00", "invoice_vat_id": vat["id"]}
    state.invoices = [state.add_invoice(a["id"], [item], status="open") for a in (state.accounts * 2)[:3]]
    return state


@pytest.fixture
def later_sync_from(installation):
    installation.settings.sync_from = date(2026, 6, 1)
    installation.settings.save()
    return installation


def test_a_later_date_adds_nothing(installation, eduframe):
    assert sync_from_estimate(installation=installation, new_date=date(2026, 3, 1)) == SyncFromEstimate(0, 0, 0)


def test_new_customers_cost_five_calls_and_known_ones_three(later_sync_from, eduframe):
    estimate = sync_from_estimate(installation=later_sync_from, new_date=date(2026, 4, 1))
    # Delta new (5), Polder new (5), Delta again (3).
    assert estimate == SyncFromEstimate(invoices_added=3, exact_calls=13, days_of_budget=1)


def test_a_customer_already_linked_in_exact_counts_as_known(later_sync_from, eduframe):
    AccountLink.objects.create(installation=later_sync_from, eduframe_account_id=eduframe.accounts[0]["id"])
    assert sync_from_estimate(installation=later_sync_from, new_date=date(2026, 4, 1)).exact_calls == 11


def test_booked_invoices_are_not_counted(later_sync_from, eduframe):
    InvoiceRecordFactory(
        installation=later_sync_from, eduframe_invoice_id=eduframe.invoices[0]["id"], state=InvoiceRecord.State.BOOKED
    )
    assert sync_from_estimate(installation=later_sync_from, new_date=date(2026, 4, 1)).invoices_added == 2


def test_enough_history_sets_the_calls_per_invoice(later_sync_from, eduframe):
    record = InvoiceRecordFactory(installation=later_sync_from)
    SyncAttempt.objects.bulk_create(
        SyncAttempt(invoice=record, trigger="webhook", outcome=SyncAttempt.Outcome.CREATED, exact_calls=3)
        for _ in range(20)
    )
    assert sync_from_estimate(installation=later_sync_from, new_date=date(2026, 4, 1)).exact_calls == 9


def test_days_are_the_calls_over_the_connections_daily_limit_rounded_up(later_sync_from, eduframe):
    ExactConnection.objects.filter(installation=later_sync_from).update(daily_limit=10)
    assert sync_from_estimate(installation=later_sync_from, new_date=date(2026, 4, 1)).days_of_budget == 2
