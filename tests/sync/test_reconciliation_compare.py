"""The comparison itself, case by case, without HTTP: what each situation in Exact becomes in the report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from sync.services.reconciliation_compare import (
    ExactEntry,
    Inputs,
    InvoiceFacts,
    RecordFacts,
    report_build,
)

BOOKED_AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CUSTOMER = uuid4()


def _invoice(number="F1", day=date(2026, 3, 5), excl="100.00", incl="121.00", invoice_id=1) -> InvoiceFacts:
    return InvoiceFacts(invoice_id, number, day, 11, Decimal(excl), Decimal(incl))


def _entry(ref="F1", day=date(2026, 3, 5), incl="121.00", vat="21.00", status=20, modified=BOOKED_AT, account=CUSTOMER):
    return ExactEntry(uuid4(), 26700001, ref, account, day, Decimal(incl), Decimal(vat), status, modified)


def _record(entry_id=None, number="F1", invoice_id=1) -> RecordFacts:
    return RecordFacts(invoice_id, number, "booked", "Booked", entry_id, BOOKED_AT)


def _build(invoices, entries, records=(), found=None, sync_from=None):
    inputs = Inputs(2026, 3, "70", 1234567, sync_from, list(invoices), list(entries), list(records), {11: CUSTOMER})
    inputs.found_elsewhere = found or {}
    return report_build(inputs)


def _kinds(report) -> list[tuple[str, str]]:
    return [(d.number, d.kind) for d in report.differences]


def test_an_invoice_booked_to_the_cent_is_no_difference():
    entry = _entry()
    report = _build([_invoice()], [entry], [_record(entry.entry_id)])
    assert report.differences == []
    assert report.eduframe.incl == report.exact.incl == Decimal("121.00")
    assert report.exact.vat == Decimal("21.00")


def test_an_entry_dated_in_another_month_in_exact_is_found_by_its_id():
    moved = _entry(day=date(2026, 4, 2))
    report = _build([_invoice()], [moved], [_record(moved.entry_id)])
    assert _kinds(report) == [("F1", "moved_in_exact")]
    assert "dated 2026-04-02" in report.differences[0].detail
    assert report.to_book_again == [1]


def test_an_entry_in_this_month_for_an_invoice_of_another_month_is_a_date_difference():
    report = _build([_invoice(day=date(2026, 2, 27))], [_entry()], [_record()])
    assert _kinds(report) == [("F1", "date_differs")]
    assert report.differences[0].detail.startswith("Eduframe dates it 2026-02-27")


def test_another_customer_on_the_entry_is_a_customer_difference():
    entry = _entry(account=uuid4())
    report = _build([_invoice()], [entry], [_record(entry.entry_id)])
    assert _kinds(report) == [("F1", "customer_differs")]


def test_an_entry_not_booked_by_eduexact_is_reported_but_never_booked_again():
    report = _build([], [_entry(ref="MANUAL-1")])
    assert _kinds(report) == [("MANUAL-1", "not_from_eduexact")]
    assert report.to_book_again == []


def test_an_invoice_dated_before_sync_from_is_not_booked_again():
    report = _build([_invoice()], [], sync_from=date(2026, 4, 1))
    assert _kinds(report) == [("F1", "before_sync_from")]
    assert report.to_book_again == []


def test_a_reversed_and_rebooked_invoice_nets_to_its_total():
    original = _entry(status=50)
    reversal = _entry(ref="F1-R", incl="-121.00", vat="-21.00")
    again = _entry()
    report = _build([_invoice()], [original, reversal, again], [_record(again.entry_id)])
    assert _kinds(report) == [("F1", "processed_in_exact")]  # the old one, processed: information only
    assert report.exact.incl == Decimal("121.00")
    assert report.exact.count == 3


def test_a_change_within_a_minute_of_booking_is_our_own():
    entry = _entry(modified=BOOKED_AT + timedelta(seconds=30))
    assert _build([_invoice()], [entry], [_record(entry.entry_id)]).differences == []
    later = _entry(modified=BOOKED_AT + timedelta(minutes=5))
    assert _kinds(_build([_invoice()], [later], [_record(later.entry_id)])) == [("F1", "changed_in_exact")]


def test_the_year_is_totalled_per_month_on_both_sides():
    report = _build([_invoice(), _invoice("F2", date(2026, 1, 9), invoice_id=2)], [_entry()])
    january, march = report.months[0], report.months[2]
    assert (january.eduframe, january.exact) == (Decimal("121.00"), Decimal("0.00"))
    assert (march.eduframe, march.exact) == (Decimal("121.00"), Decimal("121.00"))
    assert len(report.months) == 12


def test_a_change_in_exact_names_both_moments_in_local_time(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    later = _entry(modified=BOOKED_AT + timedelta(minutes=5))
    (difference,) = _build([_invoice()], [later], [_record(later.entry_id)]).differences
    # 12:00 and 12:05 UTC on 10 March are 13:00 and 13:05 in Amsterdam (winter time).
    assert difference.detail == "changed 2026-03-10 13:05, booked 2026-03-10 13:00"
