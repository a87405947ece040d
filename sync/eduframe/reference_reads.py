"""The Eduframe reference data a booking and the course pages read: catalog variants, editions, courses, VAT.

Reference data changes rarely and every booking needs it, so it is cached on this reader (one per client) and in
the tenant's reference cache (`EduframeAccess.cache`, shared by the tasks of a process for a few minutes). On a
miss, variants, planned courses and courses come a list page at a time within the bound of
`sync/eduframe/reference.py`; the VAT rates and the VAT-number field are read whole. The HTTP itself is the
client's (`EduframePages`): this module only decides what to read and what to keep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from django.conf import settings

from sync.eduframe import entities as e
from sync.eduframe.access import EduframeAccess
from sync.eduframe.reference import COURSES, EDITIONS, VARIANTS, Kind, Listed, Walk
from sync.errors import FunctionalError

T = TypeVar("T")
_UNSET = object()


class EduframePages(Protocol):
    """What the reads need of `EduframeClient`: its access (for the cache) and its three kinds of GET."""

    access: EduframeAccess

    def get_record(self, path: str, entity: Any, params: dict | None = None) -> Any:
        """One record, or None on a 404."""

    def iter_rows(self, path: str, params: dict) -> Iterator[dict]:
        """Every row of every page of a list."""

    def list_page(self, path_or_next: str, params: dict | None = None) -> tuple[list, str | None]:
        """One page of a list (a path, 100 rows unless `params` say otherwise, or a next link verbatim) and the
        next page's link (None on the last)."""


class EduframeReference:
    """Reads the tenant's reference data through one client; cached as the module docstring says."""

    def __init__(self, client: EduframePages):
        self.client = client
        self._cache: dict[str, object] = {}
        # What a reference cache that keeps nothing (a one-off check) would lose: walks and listed records.
        self._walks: dict[str, Walk] = {}
        self._listed: dict[str, Listed] = {}
        self._vat_slug: object = _UNSET

    @property
    def _store(self):
        return self.client.access.cache

    # --- the VAT-number field and the VAT rates -----------------------------------------------

    def vat_number_slug(self) -> str | None:
        """Return the slug of the account field holding the VAT number (by system_name, else by field type)."""
        if self._vat_slug is _UNSET:
            self._vat_slug = self._shared("vat-slug", self._find_vat_number_slug)[0]
        return self._vat_slug if isinstance(self._vat_slug, str) else None

    def _find_vat_number_slug(self) -> tuple[str | None]:
        # Reference: https://developer.eduframe.nl/ (Signup questions: GET /signup_questions)
        rows = self.client.iter_rows("/signup_questions", {"for_type": "account"})
        questions = [q for q in map(e.SignupQuestion.from_api, rows) if q.for_type in ("", "account")]
        by_name = [q for q in questions if q.system_name == "vat_number"]
        by_type = [q for q in questions if q.field_type == "vat_number"]
        chosen = (by_name or by_type)[0] if (by_name or by_type) else None
        return (chosen.slug if chosen else None,)

    def vat_number_of(self, account: e.Account) -> str | None:
        """Return the account's VAT number, or None when it has none."""
        slug = self.vat_number_slug()
        value = account.custom.get(slug) if slug else None
        if value is None:
            return None
        return str(value).strip() or None

    def invoice_vats(self) -> list[e.InvoiceVat]:
        """Return the tenant's VAT rates."""
        return self._shared("invoice-vats", self._read_invoice_vats)

    def invoice_vats_with(self, vat_ids: Iterable[int | None]) -> list[e.InvoiceVat]:
        """Return the tenant's VAT rates; read them again when one of `vat_ids` is newer than the cached list.

        A rate the administrator just created in Eduframe must not send its first invoices to "needs attention"
        until the cache expires."""
        rates = self.invoice_vats()
        known = {rate.id for rate in rates}
        if all(vat_id is None or vat_id in known for vat_id in vat_ids):
            return rates
        return self._shared("invoice-vats", self._read_invoice_vats, fresh=True)

    def _read_invoice_vats(self) -> list[e.InvoiceVat]:
        # Reference: https://developer.eduframe.nl/ (Invoice VATs: GET /invoice_vats)
        return [e.InvoiceVat.from_api(row) for row in self.client.iter_rows("/invoice_vats", {})]

    # --- variants, editions, courses ----------------------------------------------------------

    def get_catalog_variant(self, variant_id: int) -> e.CatalogVariant | None:
        """Return a catalog variant (a product edition), or None."""
        # Reference: https://developer.eduframe.nl/ (Catalog: GET /catalog/variants/{id})
        return self._reference(VARIANTS, variant_id)

    def get_planned_course(self, planned_course_id: int) -> e.PlannedCourse | None:
        """Return a planned course (a course edition), or None."""
        # Reference: https://developer.eduframe.nl/ (Planned courses: GET /planned_courses/{id})
        return self._reference(EDITIONS, planned_course_id)

    def get_course(self, course_id: int) -> e.Course | None:
        """Return a course (template), or None."""
        # Reference: https://developer.eduframe.nl/ (Courses: GET /courses/{id})
        return self._reference(COURSES, course_id)

    def item_course(self, item: e.InvoiceItem) -> tuple[int | None, int | None]:
        """Return (course id, planned course id) of an invoice item, via its catalog variant."""
        if not item.catalog_variant_id:
            return None, None
        variant = self.get_catalog_variant(item.catalog_variant_id)
        if variant is None or variant.variantable_type != "PlannedCourse" or not variant.variantable_id:
            return None, None
        planned = self.get_planned_course(variant.variantable_id)
        return (planned.course_id if planned else None), variant.variantable_id

    def courses_page(
        self, *, search: str | None = None, cursor: str | None = None, per_page: int = 25
    ) -> tuple[list[e.Course], str | None]:
        """Return one page of courses and the cursor of the next page (None on the last); not cached."""
        # Reference: https://developer.eduframe.nl/ (Courses: GET /courses)
        params = {
            "per_page": per_page,
            **({"search": search} if search else {}),
            **({"cursor": cursor} if cursor else {}),
        }
        rows, next_url = self.client.list_page("/courses", params)
        next_cursor = parse_qs(urlsplit(next_url).query).get("cursor", [None])[0] if next_url else None
        return [e.Course.from_api(row) for row in rows], next_cursor

    def planned_courses_of(self, course_id: int) -> list[e.PlannedCourse]:
        """Return the editions of a course; not cached."""
        # Reference: https://developer.eduframe.nl/ (Planned courses: GET /courses/{course_id}/planned_courses)
        rows = self.client.iter_rows(f"/courses/{int(course_id)}/planned_courses", {})
        return [e.PlannedCourse.from_api(row) for row in rows]

    # --- the cache and the walks --------------------------------------------------------------

    def _reference(self, kind: Kind, record_id: int):
        """A variant, edition or course: cached, else from its list's next page (within the bound), else a GET."""
        path = kind.path(record_id)
        if path not in self._cache:
            found = self._stored(kind, path)
            if found is None:
                found = self._from_pages(kind, path)
            if found is None:
                found = self._shared(path, lambda: self.client.get_record(path, kind.entity), fresh=True)
            self._cache[path] = found
        return self._cache[path]

    def _stored(self, kind: Kind, path: str):
        """The cached record; the first use of a listed one is counted as a GET its walk saved."""
        listed = self._listed.pop(path, None)
        value = self._store.get(path)
        if value is None:
            value = listed
        if isinstance(value, Listed):
            walk = self._walk(kind)
            walk.saved += 1
            self._keep_walk(kind, walk)
            value = value.entity
            self._store.set(path, value)
        return value

    def _from_pages(self, kind: Kind, path: str):
        """Fetch the next pages of the kind's list while the walk allows it, until `path` is among them."""
        walk = self._walk(kind)
        while walk.may_page():
            try:
                rows, next_url = self._list_page(kind, walk.next_url)
            except FunctionalError:
                # The list is refused (or sent us elsewhere): the records stay one GET each for this walk.
                walk.done = True
                break
            walk.pages += 1
            walk.next_url, walk.done = next_url, next_url is None
            found = self._keep_listed(kind, rows, path)
            if found is not None:
                walk.saved += 1
                self._keep_walk(kind, walk)
                return found
        self._keep_walk(kind, walk)
        return None

    def _list_page(self, kind: Kind, next_url: str | None) -> tuple[list, str | None]:
        """One page of a kind's list: the first, or the one `next_url` links to."""
        return self.client.list_page(next_url or kind.list_path)

    def _keep_listed(self, kind: Kind, rows: list, wanted: str):
        """Cache a page's usable rows (fresher than what is cached); return the `wanted` record if listed."""
        found = None
        for row in filter(kind.usable, rows):
            path, entity = kind.path(row["id"]), kind.entity.from_api(row)
            cached = self._store.get(path)
            if path == wanted:
                found = entity
                self._store.set(path, entity)
            elif cached is None or isinstance(cached, Listed):
                self._listed[path] = Listed(entity)
                self._store.set(path, self._listed[path])
            else:
                self._store.set(path, entity)  # already used once: refreshed, not counted again
        return found

    def _walk(self, kind: Kind) -> Walk:
        key = f"walk:{kind.list_path}"
        walk = self._store.get(key) or self._walks.get(key)
        if walk is None or walk.expired(settings.EDUFRAME_REFERENCE_CACHE_SECONDS):
            walk = Walk()
        self._walks[key] = walk
        return walk

    def _keep_walk(self, kind: Kind, walk: Walk) -> None:
        key = f"walk:{kind.list_path}"
        self._walks[key] = walk
        self._store.set(key, walk)

    def _shared(self, key: str, fetch: Callable[[], T], *, fresh: bool = False) -> T:
        """Reference data shared by the tasks of a process through the tenant's reference cache.

        Each booking would otherwise fetch it again; a few minutes' staleness is harmless for data an
        administrator rarely changes, and it keeps a batch of bookings far below Eduframe's rate limit.
        """
        value = None if fresh else self._store.get(key)
        if value is None:
            value = fetch()
            if value is not None:
                self._store.set(key, value)
        return value
