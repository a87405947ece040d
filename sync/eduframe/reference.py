"""How catalog variants, planned courses and courses are read: a list page at a time, within a bound.

An invoice item names a catalog variant; its course edition (planned course) and course come from two more
records. Read one GET per id, a catch-up with a cold cache pays about one call per record per booking. Eduframe
documents no `id` filter on these list endpoints (filters: variants `product_id`, `variantable_id`,
`variantable_type`, `published_public`; planned courses `course_id`, `status`, dates), so the only bulk read is
walking the plain list, up to 100 records a call (`per_page` max 100, cursor paging by `Link: rel="next"`).

A walk is worth it for a catalog of a few hundred records and wasteful for one of 10,000 editions, and which one
a tenant has is only known by walking. So the walk pays for itself as it goes (`Walk.may_page`): the first miss
may fetch one page; each further page needs a record of an earlier page to have been used in place of its own
GET. Whatever the catalog, a walk costs at most one call more than the GETs it replaces (per kind, per walk).

A listed record is the same record its GET returns, read at that moment: it is cached for the same time as a GET
result and a walk older than that time starts again from the first page, so no record is kept longer than today.
A listed row that lacks a field the booking needs is not cached: its GET is asked instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sync.eduframe import entities as e


@dataclass(frozen=True)
class Kind:
    """One kind of reference record: its list endpoint (and `{list_path}/{id}`), its type, what a row must carry."""

    list_path: str
    entity: type[Any]
    needs: tuple[str, ...]

    def path(self, record_id: int) -> str:
        return f"{self.list_path}/{int(record_id)}"

    def usable(self, row: object) -> bool:
        """Can this list row stand in for the record's GET (a list may carry fewer fields than one record)?"""
        return isinstance(row, dict) and isinstance(row.get("id"), int) and all(name in row for name in self.needs)


# Reference: https://developer.eduframe.nl/ (Catalog: GET /catalog/variants; Planned courses: GET /planned_courses;
# Courses: GET /courses). The fields are those the booking reads (entities.py).
VARIANTS = Kind("/catalog/variants", e.CatalogVariant, ("variantable_type", "variantable_id"))
EDITIONS = Kind("/planned_courses", e.PlannedCourse, ("course_id",))
COURSES = Kind("/courses", e.Course, ("name",))


@dataclass(frozen=True)
class Listed:
    """A record cached from a list page that no lookup has used yet: its first use is a GET saved."""

    entity: object


def now() -> float:
    """The wall clock a walk's age is measured by (the cache's own clock)."""
    return time.time()


@dataclass
class Walk:
    """Progress through one kind's list: the next page's link, pages fetched, GETs they saved."""

    started: float = field(default_factory=lambda: now())
    next_url: str | None = None
    pages: int = 0
    saved: int = 0
    done: bool = False

    def may_page(self) -> bool:
        """One page on trust; after that, no more pages than the GETs the pages already saved."""
        return not self.done and self.pages < 1 + self.saved

    def expired(self, seconds: float) -> bool:
        """Older than the cache keeps a record: start again, so every listed record is as fresh as a GET's."""
        return now() - self.started >= seconds
