"""The Eduframe Admin API client (`{EDUFRAME_BASE_URL}/api/v1`): entities out, our error classes on failure.

Lists use cursor pagination: we ask 100 per page (Drieam's advice) and follow `Link: rel="next"` verbatim.
The reference data (catalog variants, planned courses, courses, VAT rates, the VAT-number field) is read through
`client.reference` (`sync/eduframe/reference_reads.py`), which caches it and reads lists within a bound.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

from sync.eduframe import entities as e
from sync.eduframe.access import EduframeAccess
from sync.eduframe.reference_reads import EduframeReference
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
        # Variants, editions, courses, VAT rates and the VAT-number field: read and cached over this client.
        self.reference = EduframeReference(self)

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
        return self.get_record(f"/invoices/{int(invoice_id)}", e.Invoice, {"include": "invoice_items"})

    def iter_invoices(self, *, statuses: list[str] | None = None) -> Iterator[e.Invoice]:
        """Yield every invoice, optionally of some statuses (one status per request: the array style varies)."""
        # Reference: https://developer.eduframe.nl/ (Invoices: GET /invoices)
        wanted: list[str | None] = list(statuses or []) or [None]
        for status in wanted:
            params = {"include": "invoice_items", **({"status": status} if status else {})}
            for row in self.iter_rows("/invoices", params):
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
        return self.get_record(f"/accounts/{int(account_id)}", e.Account)

    def list_webhooks(self) -> list[e.Webhook]:
        """Return the tenant's webhooks."""
        # Reference: https://developer.eduframe.nl/ (Webhooks: GET /webhooks)
        return [e.Webhook.from_api(row) for row in self.iter_rows("/webhooks", {})]

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

    def get_record(self, path: str, entity, params: dict | None = None):
        """One record as `entity`, or None when Eduframe does not know it (404)."""
        try:
            return entity.from_api(self._json("GET", path, params=params))
        except NotFoundError:
            return None

    def iter_rows(self, path: str, params: dict) -> Iterator[dict]:
        """Yield the rows of every page, following `Link: rel="next"` verbatim."""
        rows, next_url = self.list_page(path, params)
        yield from rows
        while next_url:
            rows, next_url = self.list_page(next_url)
            yield from rows

    def list_page(self, path_or_next: str, params: dict | None = None) -> tuple[list, str | None]:
        """One page of a list and the next page's link (None on the last, or after an empty page).

        `path_or_next` is an API path (100 rows a page unless `params` say otherwise) or a next link, followed
        verbatim."""
        if path_or_next.startswith("/"):
            response = self._request("GET", path_or_next, params={"per_page": PER_PAGE, **(params or {})})
        else:
            response = self._request("GET", self._checked_link(path_or_next))
        rows = self._body(response)
        if not isinstance(rows, list):
            path = urlsplit(path_or_next).path.split("/api/v1", 1)[-1]
            raise FunctionalError(f"Eduframe answered {path} with something that is not a list.")
        next_url = response.links.get("next", {}).get("url")
        return rows, (next_url if next_url and rows else None)

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
