"""One invoice's life in Eduframe, told to the service only by real webhooks: opened -> booked, paid -> no Exact
call, edited -> the same entry updated, deleted -> the entry removed (contract: webhooks, mapping)."""

from __future__ import annotations

import re

import pytest

from tests.contract.conftest import (
    EDITION_CODES,
    cents,
    edition_variant,
    eduframe_invoices,
    entries_by_ref,
    exact_quiet,
    exact_request_count,
    log_attempts,
    new_invoice,
    webhooks_delivered,
)
from tests.contract.harness import wait_for

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def life(installed, backfilled):
    """A new invoice for the overridden course edition, opened in Eduframe; shared by the steps below, in order."""
    edition_id = int(re.search(r"/settings/editions/(\d+)/", installed.filled["edition url"]).group(1))
    invoice = new_invoice(installed.service, variant=edition_variant(installed.service, edition_id))
    return {"invoice": invoice, "number": invoice["number"]}


def only_entry(service, number: str, timeout: float = 60) -> dict:
    found = wait_for(lambda: entries_by_ref(service).get(number), timeout=timeout, what=f"an entry for {number}")
    assert len(found) == 1, found
    return found[0]


def test_an_opened_invoice_is_booked_by_the_worker_after_a_real_webhook(installed, life):
    service = installed.service
    webhooks_delivered(service)
    entry = only_entry(service, life["number"])
    life["entry_id"] = entry["EntryID"]
    assert cents(entry["AmountFC"]) == cents(life["invoice"]["total_incl"])
    lines = entry["SalesEntryLines"]
    assert [(line["GLAccountCode"].strip(), line["CostCenter"], line["CostUnit"]) for line in lines] == [
        (EDITION_CODES["Ledger code"], EDITION_CODES["Cost center"], EDITION_CODES["Cost unit"])
    ]


def test_paying_the_invoice_makes_no_exact_call(installed, life):
    service = installed.service
    key = life["number"]
    attempts = wait_for(lambda: log_attempts(installed, key), what="the booking in the sync log")
    before = exact_quiet(service)
    service.eduframe.control("POST", f"invoices/{life['invoice']['id']}/pay")
    webhooks_delivered(service)
    wait_for(lambda: log_attempts(installed, key) > attempts, what="the payment's attempt in the sync log")
    assert exact_quiet(service, for_seconds=1.0) == before
    assert len(entries_by_ref(service)[key]) == 1


def test_editing_the_invoice_updates_the_same_entry(installed, life):
    service = installed.service
    invoice = life["invoice"]
    item = {
        key: invoice["invoice_items"][0][key] for key in ("name", "unit_price", "invoice_vat_id", "catalog_variant_id")
    }
    service.eduframe.control("POST", f"invoices/{invoice['id']}/edit", {"items": [{**item, "units": 3}]})
    edited = eduframe_invoices(service)[invoice["id"]]
    assert cents(edited["total_incl"]) != cents(invoice["total_incl"])
    webhooks_delivered(service)
    wait_for(
        lambda: (
            [cents(e["AmountFC"]) for e in entries_by_ref(service).get(life["number"], [])]
            == [cents(edited["total_incl"])]
        ),
        timeout=60,
        what="the entry to carry the edited total",
    )
    assert only_entry(service, life["number"])["EntryID"] == life["entry_id"]


def test_deleting_the_invoice_removes_its_entry(installed, life):
    service = installed.service
    before = exact_request_count(service)
    service.eduframe.control("POST", f"invoices/{life['invoice']['id']}/delete")
    webhooks_delivered(service)
    wait_for(lambda: life["number"] not in entries_by_ref(service), timeout=60, what="the entry to be removed")
    assert exact_request_count(service) > before
