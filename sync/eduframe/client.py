"""The Eduframe Admin API client (`{EDUFRAME_BASE_URL}/api/v1`): entities out, our error classes on failure.

Lists use cursor pagination: we ask 100 per page (Drieam's advice) and follow `Link: rel="next"` verbatim.
Catalog variants, planned courses and courses are cached (on the instance and in the tenant's reference cache)
and, on a miss, read a list page at a time within a bound (`sync/eduframe/reference.py`), so resolving the
courses of a catch-up's invoices costs few calls.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

from sync.eduframe import entities as e
from sync.eduframe.access import EduframeAccess
from sync.eduframe.reference import COURSES, EDITIONS, VARIANTS, Kind, Listed, Walk
from sync.errors import (
    WAIT_EDUFRAME,
    AmbiguousError,
    DeferredError,
    FunctionalError,
    NotFoundError,
    RetryableError,
)
from sync.http_common import http_client_for

PER_PAGE = 100
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The scope each endpoint needs (Eduframe's API reference, https://developer.eduframe.nl/, Authentication:
# scopes), to name it when Eduframe answers 403.
_SCOPES = (
    ("/invoice_vats", "settings:read"),
    ("/signup_questions", "settings:read"),
    ("/invoices", "invoices:read"),
    ("/accounts", "relations:read"),
    ("/courses", "courses:read"),
    ("/planned_courses", "courses:read"),
    ("/catalog", "courses:read"),
)
# One cheap GET per scope the sync needs.
SCOPE_PROBES = (
    ("invoices:read", "/invoices"),
    ("relations:read", "/accounts"),
    ("courses:read", "/courses"),
    ("courses:read", "/catalog/variants"),
    ("settings:read", "/invoice_vats"),
    ("settings:modify", "/webhooks"),
)
_UNSET = object()
# A background task never waits in place for Eduframe's Retry-After: it is deferred (DeferredError) and the
# worker takes other work; the tenant's work runs again once the Retry-After has passed.
BACKGROUND_THROTTLE_WAIT = 0.0
SLOW_DOWN = "Eduframe asked us to slow down (rate limit reached)."


def scope_for(method: str, path: str) -> str | None:
    """Return the Eduframe scope an endpoint needs, when known."""
    if path.startswith("/webhooks"):
        return "settings:modify" if method in WRITES else "settings:read"
    return next((scope for prefix, scope in _SCOPES if path.startswith(prefix)), None)


class EduframeClient:
    """Talks to Eduframe for one tenant; `calls_made` counts the HTTP calls of this instance.

    The token, the shared Retry-After and the reference-data cache come in through `access` (for a stored
    installation: `sync.connections.eduframe.eduframe_client`): this class only speaks HTTP.
    """

    def __init__(
        self,
        access: EduframeAccess,
        *,
        transport: httpx.BaseTransport | None = None,
        max_throttle_wait: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.access = access
        self.calls_made = 0
        # Eduframe's rate limit is per token: after a 429 every process of this tenant waits out its
        # Retry-After (`access.throttle`); up to `max_throttle_wait` seconds in place, else it refuses.
        self.max_throttle_wait = max_throttle_wait
        self._sleep = sleep
        base_url = settings.EDUFRAME_BASE_URL.rstrip("/") + "/api/v1"
        # The process's pooled client (connections kept alive across bookings); a test's transport gets its own.
        self.http, self._owns_http = http_client_for(
            base_url, timeout_seconds=settings.HTTP_TIMEOUT_SECONDS, transport=transport
        )
        self._cache: dict[str, object] = {}
        # What a reference cache that keeps nothing (a one-off check) would lose: walks and listed records.
        self._walks: dict[str, Walk] = {}
        self._listed: dict[str, Listed] = {}
        self._vat_slug: object = _UNSET

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> EduframeClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def current_educator(self) -> e.Educator:
        """Return the tenant the token belongs to."""
        # Reference: https://developer.eduframe.nl/ (Educators: GET /educators/current)
        return e.Educator.from_api(self._json("GET", "/educators/current"))

    def get_invoice(self, invoice_id: int) -> e.Invoice | None:
        """Return one invoice with its items, or None when it does not exist (any more)."""
        # Reference: https://developer.eduframe.nl/ (Invoices: GET /invoices/{id})
        return self._get(f"/invoices/{int(invoice_id)}", e.Invoice, {"include": "invoice_items"})

    def iter_invoices(self, *, statuses: list[str] | None = None) -> Iterator[e.Invoice]:
        """Yield every invoice, optionally of some statuses (one status per request: the array style varies)."""
        # Reference: https://developer.eduframe.nl/ (Invoices: GET /invoices)
        wanted: list[str | None] = list(statuses or []) or [None]
        for status in wanted:
            params = {"include": "invoice_items", **({"status": status} if status else {})}
            for row in self._pages("/invoices", params):
                yield e.Invoice.from_api(row)

    def invoices_readable(self) -> bool:
        """Tell whether this token may list invoices at all (one row), before a 404 is taken as "deleted".

        Eduframe's API reference does not say whether a token without `invoices:read` gets a 403 or a 404 for
        one invoice, so a 404 for one invoice only means "deleted" when the invoice list itself answers.
        """
        # Reference: https://developer.eduframe.nl/ (Invoices: GET /invoices)
        try:
            self._request("GET", "/invoices", params={"per_page": 1})
        except FunctionalError:  # 403, or a 404 hiding a missing scope
            return False
        return True

    def invoice_pdf(self, invoice_id: int) -> bytes:
        """Return the invoice's PDF (Eduframe sends it base64 in `{"data": ...}`)."""
        # Reference: https://developer.eduframe.nl/ (Invoices: GET /invoices/{id}/pdf)
        data = self._json("GET", f"/invoices/{int(invoice_id)}/pdf")
        try:
            return base64.b64decode(data["data"], validate=True)
        except (KeyError, TypeError, binascii.Error) as exc:
            raise FunctionalError("Eduframe sent an invoice PDF we cannot decode.") from exc

    def get_account(self, account_id: int) -> e.Account | None:
        """Return one account (with address and custom fields), or None."""
        # Reference: https://developer.eduframe.nl/ (Accounts: GET /accounts/{id})
        return self._get(f"/accounts/{int(account_id)}", e.Account)

    def vat_number_slug(self) -> str | None:
        """Return the slug of the account field holding the VAT number (by system_name, else by field type)."""
        if self._vat_slug is _UNSET:
            self._vat_slug = self._shared("vat-slug", self._find_vat_number_slug)[0]
        return self._vat_slug if isinstance(self._vat_slug, str) else None

    def _find_vat_number_slug(self) -> tuple[str | None]:
        # Reference: https://developer.eduframe.nl/ (Signup questions: GET /signup_questions)
        rows = [e.SignupQuestion.from_api(r) for r in self._pages("/signup_questions", {"for_type": "account"})]
        rows = [q for q in rows if q.for_type in ("", "account")]
        by_name = [q for q in rows if q.system_name == "vat_number"]
        by_type = [q for q in rows if q.field_type == "vat_number"]
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

    def invoice_vats_with(self, vat_ids) -> list[e.InvoiceVat]:
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
        return [e.InvoiceVat.from_api(row) for row in self._pages("/invoice_vats", {})]

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

    def courses_page(
        self, *, search: str | None = None, cursor: str | None = None, per_page: int = 25
    ) -> tuple[list[e.Course], str | None]:
        """Return one page of courses and the cursor of the next page (None on the last)."""
        # Reference: https://developer.eduframe.nl/ (Courses: GET /courses)
        params = {
            "per_page": per_page,
            **({"search": search} if search else {}),
            **({"cursor": cursor} if cursor else {}),
        }
        response = self._request("GET", "/courses", params=params)
        rows = self._body(response)
        next_url = response.links.get("next", {}).get("url")
        next_cursor = parse_qs(urlsplit(next_url).query).get("cursor", [None])[0] if next_url and rows else None
        return [e.Course.from_api(row) for row in rows], next_cursor

    def planned_courses_of(self, course_id: int) -> list[e.PlannedCourse]:
        """Return the editions of a course."""
        # Reference: https://developer.eduframe.nl/ (Planned courses: GET /courses/{course_id}/planned_courses)
        return [e.PlannedCourse.from_api(row) for row in self._pages(f"/courses/{int(course_id)}/planned_courses", {})]

    def item_course(self, item: e.InvoiceItem) -> tuple[int | None, int | None]:
        """Return (course id, planned course id) of an invoice item, via its catalog variant."""
        if not item.catalog_variant_id:
            return None, None
        variant = self.get_catalog_variant(item.catalog_variant_id)
        if variant is None or variant.variantable_type != "PlannedCourse" or not variant.variantable_id:
            return None, None
        planned = self.get_planned_course(variant.variantable_id)
        return (planned.course_id if planned else None), variant.variantable_id

    def list_webhooks(self) -> list[e.Webhook]:
        """Return the tenant's webhooks."""
        # Reference: https://developer.eduframe.nl/ (Webhooks: GET /webhooks)
        return [e.Webhook.from_api(row) for row in self._pages("/webhooks", {})]

    def create_webhook(self, *, url: str, events: list[str]) -> e.Webhook:
        """Register a webhook for these events."""
        # Reference: https://developer.eduframe.nl/ (Webhooks: POST /webhooks)
        body = {"url": url, "active": True, "events": list(events)}
        return e.Webhook.from_api(self._json("POST", "/webhooks", json=body))

    def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook."""
        # Reference: https://developer.eduframe.nl/ (Webhooks: DELETE /webhooks/{id})
        self._request("DELETE", f"/webhooks/{webhook_id}")

    def missing_scopes(self) -> list[str]:
        """Return the scopes the sync needs that the token lacks (one cheap GET per scope)."""
        missing: list[str] = []
        for scope, path in SCOPE_PROBES:
            if scope in missing:
                continue
            try:
                self._request("GET", path, params={"per_page": 1})
            except NotFoundError:
                # Eduframe may hide what a token may not read behind a 404 (see the docstring of invoices_readable).
                missing.append(scope)
            except FunctionalError as exc:
                if exc.status == 403:
                    missing.append(scope)
        return missing

    # --- plumbing -----------------------------------------------------------------------------

    def _get(self, path: str, entity, params: dict | None = None):
        try:
            return entity.from_api(self._json("GET", path, params=params))
        except NotFoundError:
            return None

    def _reference(self, kind: Kind, record_id: int):
        """A variant, edition or course: cached, else from its list's next page (within the bound), else a GET."""
        path = kind.path(record_id)
        if path not in self._cache:
            found = self._stored(kind, path)
            if found is None:
                found = self._from_pages(kind, path)
            if found is None:
                found = self._shared(path, lambda: self._get(path, kind.entity), fresh=True)
            self._cache[path] = found
        return self._cache[path]

    def _stored(self, kind: Kind, path: str):
        """The cached record; the first use of a listed one is counted as a GET its walk saved."""
        listed = self._listed.pop(path, None)
        value = self.access.cache.get(path)
        if value is None:
            value = listed
        if isinstance(value, Listed):
            walk = self._walk(kind)
            walk.saved += 1
            self._keep_walk(kind, walk)
            value = value.entity
            self.access.cache.set(path, value)
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
        """One page of a kind's list (the first, or the one `next_url` links to) and the next page's link."""
        if next_url is None:
            response = self._request("GET", kind.list_path, params={"per_page": PER_PAGE})
        else:
            response = self._request("GET", next_url)
        rows = self._body(response)
        if not isinstance(rows, list):
            raise FunctionalError(f"Eduframe answered {kind.list_path} with something that is not a list.")
        link = response.links.get("next", {}).get("url")
        return rows, (self._checked_link(link) if link and rows else None)

    def _keep_listed(self, kind: Kind, rows: list, wanted: str):
        """Cache a page's usable rows (fresher than what is cached); return the `wanted` record if listed."""
        found = None
        for row in filter(kind.usable, rows):
            path, entity = kind.path(row["id"]), kind.entity.from_api(row)
            cached = self.access.cache.get(path)
            if path == wanted:
                found = entity
                self.access.cache.set(path, entity)
            elif cached is None or isinstance(cached, Listed):
                self._listed[path] = Listed(entity)
                self.access.cache.set(path, self._listed[path])
            else:
                self.access.cache.set(path, entity)  # already used once: refreshed, not counted again
        return found

    def _walk(self, kind: Kind) -> Walk:
        key = f"walk:{kind.list_path}"
        walk = self.access.cache.get(key) or self._walks.get(key)
        if walk is None or walk.expired(settings.EDUFRAME_REFERENCE_CACHE_SECONDS):
            walk = Walk()
        self._walks[key] = walk
        return walk

    def _keep_walk(self, kind: Kind, walk: Walk) -> None:
        key = f"walk:{kind.list_path}"
        self._walks[key] = walk
        self.access.cache.set(key, walk)

    def _shared(self, key: str, fetch, *, fresh: bool = False):
        """Reference data (VAT rates, the VAT field, variants, editions) shared by the tasks of a process.

        Each booking would otherwise fetch them again; a few minutes' staleness is harmless for data an
        administrator rarely changes, and it keeps a batch of bookings far below Eduframe's rate limit.
        """
        value = None if fresh else self.access.cache.get(key)
        if value is None:
            value = fetch()
            if value is not None:
                self.access.cache.set(key, value)
        return value

    def _pages(self, path: str, params: dict) -> Iterator[dict]:
        """Yield the rows of every page, following `Link: rel="next"` verbatim."""
        response = self._request("GET", path, params={"per_page": PER_PAGE, **params})
        while True:
            rows = self._body(response)
            if not isinstance(rows, list):
                raise FunctionalError(f"Eduframe answered {path} with something that is not a list.")
            yield from rows
            next_url = response.links.get("next", {}).get("url")
            if not next_url or not rows:
                return
            response = self._request("GET", self._checked_link(next_url))

    def _checked_link(self, url: str) -> str:
        """Follow a next link verbatim, but only inside our API (the token must not travel elsewhere)."""
        base = str(self.http.base_url).rstrip("/")
        if not url.startswith(base + "/"):
            raise FunctionalError(f"Eduframe sent a next-page link outside its API: {url}")
        return url

    def _json(self, method: str, path: str, **kwargs):
        return self._body(self._request(method, path, **kwargs))

    @staticmethod
    def _body(response: httpx.Response):
        try:
            return response.json()
        except ValueError as exc:
            raise RetryableError("Eduframe answered something that is not JSON.") from exc

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        token = self.access.tokens.token()
        response = self._send(method, url, token, **kwargs)
        if response.status_code == 401 and self.access.tokens.renewable():
            # Eduframe's clock, not ours, says when its token expired: renew once and try again (a 401 was
            # not processed, so a write is safe to repeat).
            token = self.access.tokens.token(rejected=token)
            response = self._send(method, url, token, **kwargs)
        if response.is_success:
            self.access.tokens.accepted()
            return response
        raise self._error(response, method, urlsplit(str(response.request.url)).path)

    def _wait_out_throttle(self) -> None:
        """Honour a Retry-After that Eduframe gave any process of this tenant: wait, or refuse."""
        until = self.access.throttle.until()
        if until is None:
            return
        wait = (until - timezone.now()).total_seconds()
        if wait <= 0:
            return
        if wait > self.max_throttle_wait:
            raise DeferredError(SLOW_DOWN, not_before=until, waiting_for=WAIT_EDUFRAME)
        self._sleep(wait)

    def _throttle(self, seconds: float) -> None:
        """Remember Eduframe's Retry-After for every process of this tenant."""
        self.access.throttle.hold(timezone.now() + timedelta(seconds=seconds))

    def _send(self, method: str, url: str, token: str, **kwargs) -> httpx.Response:
        self._wait_out_throttle()
        self.calls_made += 1
        try:
            return self.http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.TransportError as exc:
            sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
            if sent and method in WRITES:
                raise AmbiguousError("The answer of Eduframe was lost; the change may have been made.") from exc
            raise RetryableError("Eduframe could not be reached or did not answer in time.") from exc

    def _error(self, response: httpx.Response, method: str, path: str) -> Exception:
        status = response.status_code
        path = path.split("/api/v1", 1)[-1]
        if status == 401:
            return self.access.tokens.refused()
        if status == 403:
            scope = scope_for(method, path)
            if scope:
                return FunctionalError(f"Eduframe refused access: the token lacks the scope {scope}.", status=403)
            return FunctionalError("Eduframe refused access to this information.", status=403)
        if status == 404:
            return NotFoundError("Eduframe does not know this record.", status=404)
        if status == 429:
            seconds = _seconds(response)
            self._throttle(seconds)
            return DeferredError(
                SLOW_DOWN, not_before=timezone.now() + timedelta(seconds=seconds), waiting_for=WAIT_EDUFRAME
            )
        if status >= 500:
            text = f"Eduframe failed ({status})."
            return AmbiguousError(text) if method in WRITES else RetryableError(text)
        return FunctionalError(_message(response) or f"Eduframe refused the request ({status}).", status=status)


def _seconds(response: httpx.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return 60.0


def _message(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not body.get("message"):
        return None
    details = body.get("errors") or {}
    extra = "; ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in details.items())
    return f"{body['message']}: {extra}" if extra else str(body["message"])
