"""Eduframe calls per booking with a cold reference cache, counted from the simulator's request log (issue 8).

A catch-up books invoices whose course editions the process has not seen: their catalog variants and planned
courses come a list page at a time, so every booking after the first costs invoice, account and PDF only.
Each booked line must still carry its own edition's codes (no record taken for another).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from plugin.models import CourseOverride
from tests.factories import CourseOverrideFactory

PER_BOOKING = ["GET /accounts/{id}", "GET /invoices/{id}", "GET /invoices/{id}/pdf"]
ID = re.compile(r"/\d+")


def _calls(world, before: int) -> list[str]:
    """The Eduframe calls since `before` (a position in the request log), ids in paths as {id}."""
    log = list(world.eduframe.request_log)[before:]
    return sorted(f"{r['method']} {ID.sub('/{id}', r['path'])}" for r in log)


def _edition_with_cost_center(world, n: int) -> tuple[dict, dict]:
    """A course edition of its own course, with its own cost center in EduExact; its edition and variant."""
    _, edition, variant = world.edition(name=f"Cursus {n}", code=f"C{n}")
    CourseOverrideFactory(
        installation=world.installation,
        scope=CourseOverride.Scope.EDITION,
        eduframe_id=edition["id"],
        cost_center="100" if n % 2 else "200",
    )
    return edition, variant


def _book(world, variant) -> tuple[list[str], dict, object]:
    invoice = world.invoice([world.item(variant=variant)])
    before = len(world.eduframe.request_log)
    attempt = world.sync(invoice)
    return _calls(world, before), invoice, attempt


def test_a_catch_up_with_a_cold_cache_costs_three_eduframe_calls_a_booking_after_the_first(world):
    editions = [_edition_with_cost_center(world, n) for n in range(6)]
    booked = [_book(world, variant) for _, variant in editions]

    first, *later = [calls for calls, _, _ in booked]
    reference = Counter(first) - Counter(PER_BOOKING)
    # One page of each list (and the VAT rates and the VAT-number field) instead of one GET per record.
    assert reference == Counter(
        ["GET /catalog/variants", "GET /planned_courses", "GET /invoice_vats", "GET /signup_questions"]
    )
    assert later == [PER_BOOKING] * 5
    for n, ((edition, _), (_, invoice, attempt)) in enumerate(zip(editions, booked, strict=True)):
        (line,) = world.entry(invoice)["SalesEntryLines"]
        assert attempt.decisions[0]["cost_center"] == f"edition {edition['id']}"
        assert line["CostCenter"] == ("100" if n % 2 else "200")

    # An edition created after its list was read is not missed: it is read on its own.
    edition, variant = _edition_with_cost_center(world, 6)
    calls, _, attempt = _book(world, variant)
    assert calls == sorted([*PER_BOOKING, "GET /catalog/variants/{id}", "GET /planned_courses/{id}"])
    assert attempt.decisions[0]["cost_center"] == f"edition {edition['id']}"


def test_a_large_catalog_costs_one_list_page_more_than_reading_records_one_by_one(world):
    """Three pages of 100 editions: a booking of the newest pays one page per list, then GETs, never the walk."""
    course = world.eduframe.add_course("Projectmanagement Basis", "PMB")
    start = timezone.localdate() + timedelta(days=30)
    editions = [world.eduframe.add_planned_course(course["id"], start + timedelta(days=n)) for n in range(250)]
    variants = {v["variantable_id"]: v for v in world.eduframe.tables["catalog_variants"].values()}

    newest, _, _ = _book(world, variants[editions[-1]["id"]])
    assert Counter(newest) - Counter(PER_BOOKING) == Counter(
        [
            "GET /catalog/variants",
            "GET /catalog/variants/{id}",
            "GET /planned_courses",
            "GET /planned_courses/{id}",
            "GET /invoice_vats",
            "GET /signup_questions",
        ]
    )
    # The first page read for the newest edition serves an invoice of an edition on it.
    oldest, invoice, attempt = _book(world, variants[editions[0]["id"]])
    assert oldest == PER_BOOKING
    assert attempt.outcome == attempt.Outcome.CREATED
