"""The bulk and sync endpoints of the general ledger, and the `$select` they insist on (section 9, items 15, 22).

- `bulk/Financial/TransactionLines`: the same rows as the CRUD endpoint, any `$filter`, **1,000 rows a page**
  [C S1, S3], paged with `__next` + `$skiptoken` like the CRUD endpoints [C S4].
- `sync/Financial/TransactionLines`: 1,000 rows a page, ordered by the ever-incrementing `Timestamp`; the only
  server-side filter is on `Timestamp` (Invantive, "Exact Online sync APIs" [R]; picqer `SyncTransactionLine`
  [K S6]).
- `sync/CRM/Accounts`: the same, for accounts (account_sync.py).
- `sync/Deleted`: the keys of deleted rows with their `Timestamp` and `EntityType` (1 transaction lines,
  2 accounts) (picqer `Deleted` [K S6]; Exact's sync sample [K]).

All three need `$select` (bulk endpoints require it [R S18]); without it they answer picqer's documented
`400 Please add a $select or a $top=1 statement to the query string.` [K S6], and `$top=1` alone is let through,
as that message promises. The same refusal can be switched on for CRUD endpoints (`select_required`), where
Exact applies it to some endpoints without documenting which [K S6].
"""

from __future__ import annotations

from urllib.parse import quote

from werkzeug.wrappers import Response

from .account_sync import account_rows
from .errors import ApiError, BadRequest
from .ledger import deleted_rows, transaction_lines
from .query import Query, parse_query
from .resources import Ctx, Resource, json_response
from .schema import ACCOUNT, DATE, FLOAT, GUID, INT, INT64, READ, STR, EntitySpec, _fields

BULK_PAGE_SIZE = 1000  # bulk and sync endpoints [C S1, S3]
SELECT_MISSING = "Please add a $select or a $top=1 statement to the query string."  # picqer README [K S6]
SYNC_FILTER_ONLY_TIMESTAMP = "Sync endpoints can only be filtered on Timestamp."  # wording assumed [U]

_LINE_FIELDS = {
    **_fields(READ, GUID, "ID", "EntryID", "Account", "GLAccount", "Document"),
    **_fields(READ, STR, "AccountCode", "AccountName", "GLAccountCode", "JournalCode", "JournalDescription"),
    **_fields(READ, STR, "Description", "YourRef", "PaymentReference", "Currency", "VATCode"),
    **_fields(READ, STR, "CostCenter", "CostUnit"),
    **_fields(READ, FLOAT, "AmountFC", "AmountDC", "AmountVATFC", "AmountVATBaseFC", "Quantity"),
    **_fields(READ, INT, "EntryNumber", "InvoiceNumber", "LineNumber", "FinancialYear", "FinancialPeriod"),
    **_fields(READ, INT, "Type", "Status", "Division"),
    **_fields(READ, DATE, "Date", "DueDate", "Created", "Modified"),
}
BULK_TRANSACTION_LINE = EntitySpec("Financial.TransactionLine", "ID", GUID, _LINE_FIELDS)
SYNC_TRANSACTION_LINE = EntitySpec(
    "Sync.Financial.TransactionLine", "ID", GUID, {**_LINE_FIELDS, "Timestamp": (INT64, READ)}
)
# The CRUD account's properties plus the row version; no navigation properties (no $expand on sync endpoints [U]).
SYNC_ACCOUNT = EntitySpec(
    "Sync.CRM.Account",
    "ID",
    GUID,
    {**{name: (typ, READ) for name, (typ, _) in ACCOUNT.fields.items()}, "Timestamp": (INT64, READ)},
)
SYNC_DELETED = EntitySpec(
    "Sync.Deleted",
    "ID",
    GUID,
    {
        "Timestamp": (INT64, READ),
        "ID": (GUID, READ),
        "EntityKey": (GUID, READ),
        "EntityType": (INT, READ),
        "Division": (INT, READ),
    },
)


def check_select_required(state, endpoint: str, args) -> None:
    """The CRUD endpoints switched to insist on `$select` (or `$top=1`) refuse a bare list GET."""
    if endpoint in getattr(state, "select_required", ()) and not _has_select(args) and args.get("$top") != "1":
        raise BadRequest(SELECT_MISSING)


def _has_select(args) -> bool:
    text = (args.get("$select") or "").strip()
    return bool(text) and text != "*"  # `*` selects everything, which is what the rule is there to stop


class BulkResource(Resource):
    """A read-only, 1,000-rows-a-page collection; no access by key."""

    ordering: tuple[str, ...] = ("ID",)

    def rows(self, ctx: Ctx) -> list[dict]:
        raise NotImplementedError

    def check_query(self, query: Query) -> None:
        """Refuse what this endpoint cannot filter on (nothing, for bulk endpoints)."""

    def serve(self, ctx: Ctx, method: str, key_text: str | None) -> Response:
        if method != "GET":
            raise ApiError(405, f"The HTTP method '{method}' is not allowed on '{self.path}'.")
        if key_text is not None:
            raise ApiError(404, f"Resource not found for the segment '{self.path}({key_text})'.")
        args = ctx.request.args
        if not _has_select(args) and args.get("$top") != "1":
            raise BadRequest(SELECT_MISSING)
        query = parse_query(args, self.spec, ctx.state.filter_case_insensitive)
        self.check_query(query)
        page, more = self._page(self.rows(ctx), query)
        envelope: dict = {"results": [self.render(ctx, row, query.select) for row in page]}
        if more:
            envelope["__next"] = self._next(ctx, query, page[-1]["ID"])
        return json_response({"d": envelope})

    def _page(self, rows: list[dict], query: Query) -> tuple[list[dict], bool]:
        matched = [row for row in rows if query.filter is None or query.filter.matches(row)]
        matched.sort(key=lambda row: tuple(str(row.get(name)).zfill(20) for name in self.ordering))
        if query.skiptoken is not None:
            keys = [row["ID"] for row in matched]
            matched = matched[keys.index(query.skiptoken) + 1 :] if query.skiptoken in keys else []
        limit = BULK_PAGE_SIZE if query.top is None else min(query.top, BULK_PAGE_SIZE)
        more = len(matched) > limit and (query.top is None or query.top > limit)
        return matched[:limit], more

    def _next(self, ctx: Ctx, query: Query, last_id: str) -> str:
        """`__next` keeps `$select` and `$filter` and adds `$skiptoken=guid'<last ID>'` [C S4]."""
        params = [f"{name}={quote(value, safe='')}" for name, value in
                  (("$filter", query.filter_text), ("$select", query.select_text)) if value]  # fmt: skip
        if query.top is not None:
            params.append(f"$top={query.top - BULK_PAGE_SIZE}")
        params.append(f"$skiptoken={quote(f'guid{chr(39)}{last_id}{chr(39)}', safe='')}")
        return f"{ctx.base_url}/api/v1/{ctx.division.code}/{self.path}?{'&'.join(params)}"


class SyncResource(BulkResource):
    """Ordered by `Timestamp`; only `Timestamp` may be filtered on."""

    ordering = ("Timestamp", "ID")

    def serve(self, ctx: Ctx, method: str, key_text: str | None) -> Response:
        if self.path in ctx.state.unavailable_endpoints:
            status = int(ctx.state.unavailable_status)
            # Wording assumed [U]: Exact's texts for a withheld endpoint are not recorded in our sources.
            text = "Forbidden" if status == 403 else f"Resource not found for the segment '{self.path}'."
            raise ApiError(status, text)
        return super().serve(ctx, method, key_text)

    def check_query(self, query: Query) -> None:
        if query.filter is not None and query.filter.properties - {"Timestamp"}:
            raise BadRequest(SYNC_FILTER_ONLY_TIMESTAMP)
        if query.orderby is not None:
            raise BadRequest("The query parameter '$orderby' is not supported for this resource.")  # [U]


class BulkTransactionLines(BulkResource):
    path = "bulk/Financial/TransactionLines"
    spec = BULK_TRANSACTION_LINE

    def rows(self, ctx: Ctx) -> list[dict]:
        return transaction_lines(ctx.division)


class SyncTransactionLines(SyncResource):
    path = "sync/Financial/TransactionLines"
    spec = SYNC_TRANSACTION_LINE

    def rows(self, ctx: Ctx) -> list[dict]:
        return transaction_lines(ctx.division)


class SyncAccounts(SyncResource):
    path = "sync/CRM/Accounts"
    spec = SYNC_ACCOUNT

    def rows(self, ctx: Ctx) -> list[dict]:
        return account_rows(ctx.division)


class SyncDeleted(SyncResource):
    path = "sync/Deleted"
    spec = SYNC_DELETED

    def rows(self, ctx: Ctx) -> list[dict]:
        account_rows(ctx.division)  # notice deleted accounts too
        return deleted_rows(ctx.division)


BULK_SYNC_RESOURCES = (BulkTransactionLines, SyncTransactionLines, SyncAccounts, SyncDeleted)
