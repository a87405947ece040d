"""The Exact Online REST client: one method per endpoint, entities out, our error classes on failure.

Every division call names the configured division in the URL (never the user's current one), selects
exactly the fields the entity needs, follows `__next` paging and honours the rate-limit headers
(60 calls per minute and 5,000 per day per division).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from django.conf import settings
from django.utils import timezone

from sync.errors import AuthError, FunctionalError, NotFoundError, RetryableError
from sync.exact import entities as e
from sync.exact.access import ExactAccess
from sync.exact.http import RateLimits, error_for, exact_json, exact_message, transport_error_for
from sync.exact.ledger import ENTRY_TOTAL_FIELDS, LEDGER_FIELDS, EntryTotals, LedgerLine
from sync.http_common import http_client_for

ACCOUNT_FIELDS = "ID,Code,Name,Email,Status,VATNumber,AddressLine1,Postcode,City,Country"
LINE_FIELDS = "ID,GLAccount,AmountFC,VATCode,VATAmountFC,Description,Quantity,CostCenter,CostUnit"
ENTRY_FIELDS = "EntryID,EntryNumber,YourRef,Customer,Journal,Description,EntryDate,DueDate,Document,AmountFC,VATAmountFC,Status,Type"
ENTRY_SELECT = ENTRY_FIELDS + "," + ",".join(f"SalesEntryLines/{f}" for f in LINE_FIELDS.split(","))
ATTACHMENT_FIELDS = "ID,Document,FileName,FileSize,Url"
# Exact words its business messages in the language the request asks for, else in the Exact user's own (Dutch,
# English, German ...). We ask for one, on every call, so that the same refusal always reads the same, whoever
# connected Exact: Dutch, the catalogue Exact's Dutch divisions and our research notes quote. The mapping to
# advice (sync/services/booking_errors.py) knows the English forms too, for an answer that ignores the ask.
MESSAGE_LANGUAGE = "nl-NL, nl;q=0.9"


def _forbidden_message(response: httpx.Response) -> str:
    said = exact_message(response) or "403 Forbidden"
    return (
        f"Exact Online refuses the connected user access to the division ({said}); give the user access to "
        "the division in Exact Online, or choose another division on the settings page, then reconnect Exact Online."
    )


def _quote(value: str) -> str:
    """Quote a string for an OData filter (a quote is doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def _guid(value: UUID | str) -> str:
    return f"guid'{UUID(str(value))}'"


class ExactClient:
    """Talks to Exact Online for one connection; `calls_made` counts REST calls made by this instance.

    Tokens, the shared call budget and the call counter come in through `access` (built from the database by
    `sync.connections.exact.exact_client`): this class only speaks HTTP.
    """

    def __init__(self, access: ExactAccess, *, transport: httpx.BaseTransport | None = None):
        self.access = access
        self.calls_made = 0
        self.base_url = access.base_url
        # The process's pooled client (connections kept alive across bookings); a test's transport gets its own.
        self.http, self._owns_http = http_client_for(
            self.base_url, timeout_seconds=settings.HTTP_TIMEOUT_SECONDS, transport=transport
        )

    def close(self) -> None:
        try:
            self.access.counter.flush()
        finally:
            if self._owns_http:
                self.http.close()

    def __enter__(self) -> ExactClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- current user and divisions -------------------------------------------------------------

    def me(self) -> e.ExactMe:
        """Return the signed-in Exact user and their current division."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SystemSystemMe
        rows = self._rows("/api/v1/current/Me", {"$select": "UserID,FullName,Email,CurrentDivision"})
        if not rows:
            raise AuthError("Exact Online did not tell who is signed in.")
        return e.ExactMe.from_api(rows[0])

    def divisions(self) -> list[e.ExactDivision]:
        """Return the divisions the user can reach."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SystemSystemDivisions
        current = self.me().current_division
        rows = self._rows(f"/api/v1/{current}/system/Divisions", {"$select": "Code,Description"})
        return [e.ExactDivision.from_api(row) for row in rows]

    # --- lookups ------------------------------------------------------------------------------

    def journals(self, division: int) -> list[e.Journal]:
        """Return the division's journals."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=FinancialJournals
        return self._list(division, "financial/Journals", "Code,Description,Type,IsBlocked", e.Journal)

    def gl_accounts(self, division: int) -> list[e.GLAccount]:
        """Return the division's G/L accounts."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=FinancialGLAccounts
        fields = "ID,Code,Description,Type,BalanceType,UseCostcenter,UseCostunit,VATCode,IsBlocked"
        return self._list(division, "financial/GLAccounts", fields, e.GLAccount)

    def cost_centers(self, division: int) -> list[e.CostCenter]:
        """Return the division's cost centers."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=HRMCostcenters
        return self._list(division, "hrm/Costcenters", "Code,Description", e.CostCenter)

    def cost_units(self, division: int) -> list[e.CostUnit]:
        """Return the division's cost units."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=HRMCostunits
        return self._list(division, "hrm/Costunits", "Code,Description", e.CostUnit)

    def vat_codes(self, division: int) -> list[e.VatCode]:
        """Return the division's VAT codes."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=VATVATCodes
        fields = "Code,Description,Percentage,Type,VATTransactionType,IsBlocked"
        return self._list(division, "vat/VATCodes", fields, e.VatCode)

    # --- accounts -----------------------------------------------------------------------------

    def get_account(self, division: int, account_id: UUID | str) -> e.ExactAccount | None:
        """Return one account by its ID, or None when Exact does not know it."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=CRMAccounts
        row = self._one(self._path(division, f"crm/Accounts({_guid(account_id)})"), {"$select": ACCOUNT_FIELDS})
        return None if row is None else e.ExactAccount.from_api(row)

    def find_accounts(
        self, division: int, *, code: str | None = None, vat_number: str | None = None, email: str | None = None
    ) -> list[e.ExactAccount]:
        """Return the accounts matching any given criterion, in one call (the code padded to 18 as Exact stores it)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=CRMAccounts
        criteria = {"Code": code and str(code).strip().rjust(18), "VATNumber": vat_number, "Email": email}
        given = [f"{field} eq {_quote(value)}" for field, value in criteria.items() if value]
        if not given:
            raise ValueError("find_accounts needs at least one of code, vat_number, email")
        params = {"$filter": " or ".join(given), "$select": ACCOUNT_FIELDS}
        return [e.ExactAccount.from_api(row) for row in self._rows(self._path(division, "crm/Accounts"), params)]

    def create_account(self, division: int, fields: dict) -> e.ExactAccount:
        """Create an account and return it as Exact stored it."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=CRMAccounts
        return e.ExactAccount.from_api(self._post(self._path(division, "crm/Accounts"), fields))

    def update_account(self, division: int, account_id: UUID | str, fields: dict) -> None:
        """Change fields of an account."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=CRMAccounts
        self._request("PUT", self._path(division, f"crm/Accounts({_guid(account_id)})"), payload=fields)

    def sync_page(self, division: int, resource: str, *, fields: str, after: int) -> tuple[list[dict], bool]:
        """One page (up to 1,000 rows, in Timestamp order) of a sync endpoint's rows changed after `after`.

        Returns the rows and whether more follow (Exact gave `__next`): the caller asks again from the highest
        Timestamp it read, which is what `__next` would return. A refusal of the endpoint (403 included) is a
        FunctionalError, not a refused connection: sync endpoints can be withheld while the CRUD ones work.
        """
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SyncCRMAccounts
        params = {"$filter": f"Timestamp gt {int(after)}L", "$select": fields}
        data = self._data(self._request("GET", self._path(division, resource), params=params, own_refusal=True))
        if isinstance(data, list):
            return data, False
        return data.get("results", []), bool(data.get("__next"))

    # --- sales entries ------------------------------------------------------------------------

    def get_sales_entry(self, division: int, entry_id: UUID | str) -> e.SalesEntry | None:
        """Return one sales entry with its lines, or None when Exact does not know it."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntries
        path = self._path(division, f"salesentry/SalesEntries({_guid(entry_id)})")
        row = self._one(path, {"$select": ENTRY_SELECT, "$expand": "SalesEntryLines"})
        return None if row is None else self._entry(division, row)

    def find_sales_entries(self, division: int, *, your_ref: str) -> list[e.SalesEntry]:
        """Return the sales entries whose YourRef is exactly this, with their lines."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntries
        params = {"$filter": f"YourRef eq {_quote(your_ref)}", "$select": ENTRY_SELECT, "$expand": "SalesEntryLines"}
        rows = self._rows(self._path(division, "salesentry/SalesEntries"), params)
        return [self._entry(division, row) for row in rows]

    def create_sales_entry(self, division: int, payload: dict) -> e.SalesEntry:
        """Create a sales entry with its lines inline; Exact answers the lines deferred, so `lines` is empty."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntries
        row = self._post(self._path(division, "salesentry/SalesEntries"), payload)
        lines = () if e.has_deferred_lines(row) or "SalesEntryLines" not in row else None
        return e.SalesEntry.from_api(row, lines=lines)

    def update_sales_entry(self, division: int, entry_id: UUID | str, fields: dict) -> None:
        """Change header fields of a sales entry (lines are changed one by one)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntries
        self._request("PUT", self._path(division, f"salesentry/SalesEntries({_guid(entry_id)})"), payload=fields)

    def delete_sales_entry(self, division: int, entry_id: UUID | str) -> None:
        """Delete a sales entry and its lines."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntries
        self._request("DELETE", self._path(division, f"salesentry/SalesEntries({_guid(entry_id)})"))

    def create_sales_entry_line(self, division: int, payload: dict) -> e.SalesEntryLine:
        """Add a line to an existing sales entry (payload names its EntryID)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntryLines
        return e.SalesEntryLine.from_api(self._post(self._path(division, "salesentry/SalesEntryLines"), payload))

    def update_sales_entry_line(self, division: int, line_id: UUID | str, fields: dict) -> None:
        """Change a sales entry line."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntryLines
        self._request("PUT", self._path(division, f"salesentry/SalesEntryLines({_guid(line_id)})"), payload=fields)

    def delete_sales_entry_line(self, division: int, line_id: UUID | str) -> None:
        """Delete a sales entry line (deleting the last line deletes the entry)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntryLines
        self._request("DELETE", self._path(division, f"salesentry/SalesEntryLines({_guid(line_id)})"))

    # --- the general ledger (bulk) -------------------------------------------------------------

    def ledger_line_pages(self, division: int, *, odata_filter: str) -> Iterator[list[LedgerLine]]:
        """Yield the sales entries' ledger lines matching the filter, one page (up to 1,000 lines) at a time."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=BulkFinancialTransactionLines
        url: str | None = self._path(division, "bulk/Financial/TransactionLines")
        params: dict[str, str] | None = {"$select": LEDGER_FIELDS, "$filter": odata_filter}
        while url:
            data = self._data(self._request("GET", url, params=params))
            rows = data if isinstance(data, list) else data.get("results", [])
            yield [LedgerLine.from_api(row) for row in rows]
            next_url = None if isinstance(data, list) else data.get("__next")
            url, params = (self._relative(next_url), None) if next_url else (None, None)

    def sales_entry_totals(self, division: int, *, odata_filter: str) -> list[EntryTotals]:
        """Return the sales entries' header totals matching the filter (CRUD endpoint, 60 a page)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntries
        params = {"$filter": odata_filter, "$select": ENTRY_TOTAL_FIELDS}
        rows = self._rows(self._path(division, "salesentry/SalesEntries"), params)
        return [EntryTotals.from_api(row) for row in rows]

    # --- documents ----------------------------------------------------------------------------

    def find_documents(self, division: int, *, subject: str) -> list[e.ExactDocument]:
        """Return the documents whose subject is exactly this."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=DocumentsDocuments
        params = {"$filter": f"Subject eq {_quote(subject)}", "$select": "ID,Subject,Type"}
        rows = self._rows(self._path(division, "documents/Documents"), params)
        return [e.ExactDocument.from_api(row) for row in rows]

    def create_document(self, division: int, fields: dict) -> e.ExactDocument:
        """Create a document (Type 10 = sales invoice) to attach files to."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=DocumentsDocuments
        return e.ExactDocument.from_api(self._post(self._path(division, "documents/Documents"), fields))

    def document_attachments(self, division: int, document_id: UUID | str) -> list[e.ExactAttachment]:
        """Return the attachments of a document."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=DocumentsDocumentAttachments
        params = {"$filter": f"Document eq {_guid(document_id)}", "$select": ATTACHMENT_FIELDS}
        rows = self._rows(self._path(division, "documents/DocumentAttachments"), params)
        return [e.ExactAttachment.from_api(row) for row in rows]

    def delete_document_attachment(self, division: int, attachment_id: UUID | str) -> None:
        """Delete one attachment of a document (DocumentAttachments has no PUT: replace = add + delete)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=DocumentsDocumentAttachments
        self._request("DELETE", self._path(division, f"documents/DocumentAttachments({_guid(attachment_id)})"))

    def create_document_attachment(
        self, division: int, *, document_id: UUID | str, file_name: str, content: bytes
    ) -> e.ExactAttachment:
        """Attach a file (sent base64) to a document."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=DocumentsDocumentAttachments
        payload = {
            "Document": UUID(str(document_id)),
            "FileName": file_name,
            "Attachment": base64.b64encode(content).decode(),
        }
        return e.ExactAttachment.from_api(self._post(self._path(division, "documents/DocumentAttachments"), payload))

    def download_attachment(self, attachment: e.ExactAttachment) -> bytes:
        """Return the bytes of an attachment (its Url plus `&Download=1`, authenticated)."""
        # Reference: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=DocumentsDocumentAttachments
        url = self._relative(attachment.url)
        url += ("&" if "?" in url else "?") + "Download=1"
        return self._request("GET", url, headers={"Accept": "*/*"}).content

    # --- plumbing -----------------------------------------------------------------------------

    @staticmethod
    def _path(division: int, resource: str) -> str:
        return f"/api/v1/{int(division)}/{resource}"

    def _list(self, division: int, resource: str, fields: str, parse) -> list:
        return [parse.from_api(row) for row in self._rows(self._path(division, resource), {"$select": fields})]

    def _entry(self, division: int, row: dict) -> e.SalesEntry:
        if not e.has_deferred_lines(row):
            return e.SalesEntry.from_api(row)
        # Exact ignored $expand: fetch the lines by their entry.
        params = {"$filter": f"EntryID eq {_guid(row['EntryID'])}", "$select": LINE_FIELDS}
        rows = self._rows(self._path(division, "salesentry/SalesEntryLines"), params)
        return e.SalesEntry.from_api(row, lines=tuple(e.SalesEntryLine.from_api(r) for r in rows))

    def _rows(self, url: str, params: dict) -> list[dict]:
        """GET a collection and follow `__next` until the last page."""
        rows: list[dict] = []
        response = self._request("GET", url, params=params)
        while True:
            data = self._data(response)
            if isinstance(data, list):  # the bare-array form Exact uses with $top
                return rows + data
            rows.extend(data.get("results", []))
            next_url = data.get("__next")
            if not next_url:
                return rows
            response = self._request("GET", self._relative(next_url))

    def _one(self, url: str, params: dict) -> dict | None:
        try:
            data = self._data(self._request("GET", url, params=params))
        except NotFoundError:
            return None
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            return data["results"][0] if data["results"] else None
        return data

    def _post(self, url: str, payload: dict) -> dict:
        response = self._request("POST", url, payload=payload, headers={"Prefer": "return=representation"})
        return self._data(response)

    @staticmethod
    def _data(response: httpx.Response):
        try:
            return response.json()["d"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryableError("Exact Online answered something that is not OData JSON.") from exc

    def _relative(self, url: str) -> str:
        """Keep only path and query of an Exact URL: every call goes to our base URL (and our token stays there)."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _request(
        self, method: str, url: str, *, params=None, payload=None, headers=None, own_refusal: bool = False
    ) -> httpx.Response:
        """Send one REST call with a valid token; one 401 leads to one token check and one retry.

        `own_refusal`: a 403 refuses this endpoint only (a FunctionalError), not the connection.
        """
        self._honour_rate_limits()
        token = self.access.tokens.token()
        response, limits = self._send(method, url, token, params, payload, headers)
        if response.status_code == 401:
            response, limits = self._after_401(method, url, token, params, payload, headers)
        if response.status_code == 403 and own_refusal:
            self._record(response, limits)
            raise FunctionalError(exact_message(response) or "403 Forbidden", status=403)
        if response.status_code == 403:
            # Missing rights ("Wrong Division"): every call of this connection would earn the same 403, and
            # each counts toward Exact's 10 errors an hour, so the sync pauses until the administrator acts.
            raise self.access.tokens.refused(_forbidden_message(response))
        self._record(response, limits)
        if response.is_success:
            return response
        raise error_for(response, method)

    def _after_401(self, method, url, token, params, payload, headers) -> tuple[httpx.Response, RateLimits]:
        """Exact refused the access token: take a newer one, or refresh as soon as Exact allows it, and retry once.

        Only a refused refresh token disconnects the tenant (the token source marks it). A token refused again
        right after a refresh (the Exact user may have lost the division) is forgotten by every process, and
        the invoice waits for the next token Exact allows instead of earning more 401s.
        """
        token = self.access.tokens.token(rejected=token)
        response, limits = self._send(method, url, token, params, payload, headers)
        if response.status_code == 401:
            self._record(response, limits)
            raise self.access.tokens.refused_again(token)
        return response, limits

    def _send(self, method, url, token, params, payload, headers) -> tuple[httpx.Response, RateLimits]:
        """One HTTP exchange, counted on the day's row; the answer and its rate-limit headers (read once)."""
        all_headers = {"Authorization": f"Bearer {token}", "Accept-Language": MESSAGE_LANGUAGE, **(headers or {})}
        content = None
        if payload is not None:
            content = exact_json(payload)
            all_headers["Content-Type"] = "application/json"
        self.calls_made += 1
        try:
            response = self.http.request(method, url, params=params, content=content, headers=all_headers)
        except httpx.TransportError as exc:
            raise transport_error_for(exc, method) from exc
        limits = RateLimits.from_headers(response.headers)
        self.access.counter.count(path=url, status=response.status_code, daily_limit=limits.daily_limit)
        return response, limits

    def budget_fits(self, calls: int) -> None:
        """Raise DeferredError, before any call, when the known budget holds fewer than `calls` calls."""
        self.access.budget.check(calls)

    def _honour_rate_limits(self) -> None:
        """Take one call from the connection's budget, shared with the other processes (DeferredError: spent)."""
        self.access.budget.claim()

    def _record(self, response: httpx.Response, limits: RateLimits) -> None:
        """Hand the rate-limit headers and the last success to the budget (stored where they tell something new)."""
        changes = limits.changes()
        if response.is_success:
            changes["last_success_at"] = timezone.now()
        if changes:
            self.access.budget.limits_seen(changes, status=response.status_code)
