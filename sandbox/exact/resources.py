"""Generic entity-set handling: envelopes, by-key access, bodies, status codes. Each entity set
(accounts, sales entries, ...) subclasses `Resource` and supplies its own rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from werkzeug.wrappers import Request, Response

from .division import Division
from .errors import ApiError, BadRequest, NotFound, stream_error
from .odata import GUID_RE, entity_uri, local_naive, parse_body, serialise
from .query import next_link, parse_query, select_rows
from .schema import GUID, EntitySpec

# Filled even without `Prefer: return=representation`: ossobv reads these from the POST answer [K S12].
ALWAYS_RETURNED = {"EntryNumber"}


@dataclass
class Ctx:
    state: object
    division: Division
    request: Request
    base_url: str
    now: datetime
    user_id: str | None = None
    client_id: str | None = None

    @property
    def country(self) -> str:
        """The country platform this request reached (item 1)."""
        return self.state.request_country(self.request)

    @property
    def local_now(self) -> datetime:
        return local_naive(self.now)


class Resource:
    path = ""
    spec: EntitySpec
    methods: tuple[str, ...] = ("GET",)
    mandatory_filter: frozenset | None = None

    def store(self, ctx: Ctx) -> dict:
        raise NotImplementedError

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        raise NotImplementedError

    def update(self, ctx: Ctx, row: dict, values: dict, navs: dict) -> None:
        raise NotImplementedError

    def delete(self, ctx: Ctx, row: dict) -> None:
        raise NotImplementedError

    def children(self, ctx: Ctx, row: dict, nav: str) -> tuple[Resource, list[dict]]:
        raise NotFound(f"Resource not found for the segment '{nav}'.")

    # -- rendering ------------------------------------------------------------------------------
    def uri(self, ctx: Ctx, key) -> str:
        return entity_uri(ctx.base_url, ctx.division.code, self.path, self.spec, key)

    def render(self, ctx: Ctx, row: dict, select=None, expand=()) -> dict:
        expanded = {}
        for nav in expand:
            child, rows = self.children(ctx, row, nav)
            expanded[nav] = [child.render(ctx, r) for r in rows]
        return serialise(row, self.spec, self.uri(ctx, row[self.spec.key]), select, expanded)


def handle(resource: Resource, ctx: Ctx, method: str, key_text: str | None, nav: str | None) -> Response:
    if method not in resource.methods:
        raise ApiError(405, f"The HTTP method '{method}' is not allowed on '{resource.path}'.")
    if key_text is None:
        if method == "GET":
            return _list(resource, ctx, list(resource.store(ctx).values()), resource.path)
        if method == "POST":
            return _post(resource, ctx)
        raise ApiError(405, f"The HTTP method '{method}' requires a key on '{resource.path}'.")
    row = resource.store(ctx).get(parse_key(resource.spec, key_text))
    if row is None:
        raise NotFound()
    if method == "GET":
        return _get_one(resource, ctx, row, nav)
    if method == "PUT":
        values, navs = parse_body(resource.spec, read_json(ctx), offset_mode=ctx.state.date_offset_mode, updating=True)
        resource.update(ctx, row, values, navs)
        _notify(ctx, resource, "Update", row[resource.spec.key])
        return Response(status=204)
    if method == "DELETE":
        resource.delete(ctx, row)
        _notify(ctx, resource, "Delete", row[resource.spec.key])
        return Response(status=204)
    raise ApiError(405, f"The HTTP method '{method}' is not allowed with a key.")


def parse_key(spec: EntitySpec, text: str):
    if spec.key_type == GUID:
        inner = text[5:-1] if text.startswith("guid'") and text.endswith("'") else ""
        if not GUID_RE.match(inner):
            raise BadRequest("Niet herkende GUID-indeling.")  # Bookzo [R S17]
        return inner.lower()
    if not text.isdigit():
        raise BadRequest(f"Bad request - Error in query syntax: '{text}'.")
    return int(text)


def read_json(ctx: Ctx):
    request = ctx.request
    if request.mimetype != "application/json":
        raise ApiError(415, "Unsupported media type: use Content-Type: application/json.")
    if request.content_length and request.content_length > ctx.state.max_post_bytes * 4 // 3 + 4096:
        raise ApiError(413, "Request entity too large.")  # 10 MB of binary, base64-encoded [C S1]
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise stream_error("The request should be a valid top-level resource object.") from exc


# Endpoints with a sync counterpart that Exact may put under mandatory filtering (rolled out per endpoint since
# July 2021 [C S1, S4]); the fields each would accept are assumed [U]. Switched on through
# `state.mandatory_filter_endpoints` (default: crm/Accounts only, the one seen refusing, picqer #591 [R]).
OPTIONAL_FILTER_FIELDS = {
    "documents/Documents": frozenset({"ID", "Account", "Subject", "Type", "Created", "Modified", "DocumentDate"}),
    "documents/DocumentAttachments": frozenset({"ID", "Document"}),
    "salesentry/SalesEntries": frozenset(
        {"EntryID", "EntryNumber", "InvoiceNumber", "YourRef", "Customer", "EntryDate", "Modified", "Journal"}
    ),
    "salesentry/SalesEntryLines": frozenset({"ID", "EntryID", "GLAccount"}),
    "financial/GLAccounts": frozenset({"ID", "Code", "Type", "Modified"}),
}


def _list(resource: Resource, ctx: Ctx, rows: list[dict], path: str, nested: bool = False) -> Response:
    query = parse_query(ctx.request.args, resource.spec, ctx.state.filter_case_insensitive)
    if not nested:  # a navigation list (an entry's lines) is filtered by its parent's key already
        _check_mandatory_filter(resource, ctx, query)
    page, more = select_rows(rows, resource.spec, query)
    results = [resource.render(ctx, row, query.select, query.expand) for row in page]
    if query.top is not None and ctx.state.top_bare_array:
        # With $top Exact answered a bare array `{"d": [...]}` (tim-online's Go client [K/U], item 14).
        return json_response({"d": results})
    envelope: dict = {"results": results}
    if more:
        base = f"{ctx.base_url}/api/v1/{ctx.division.code}/{path}"
        envelope["__next"] = next_link(base, resource.spec, query, page[-1][resource.spec.key])
    return json_response({"d": envelope})


def _check_mandatory_filter(resource: Resource, ctx: Ctx, query) -> None:
    """Mandatory filtering since July 2021 (picqer #591 [R S15]) on the endpoints switched on."""
    if resource.path not in ctx.state.mandatory_filter_endpoints:
        return
    allowed = resource.mandatory_filter or OPTIONAL_FILTER_FIELDS.get(resource.path)
    if allowed and (query.filter is None or not (query.filter.properties & allowed)):
        raise BadRequest(
            "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter "
            f"parameter with one of the following fields in the url:{','.join(sorted(allowed))}."
        )


def _get_one(resource: Resource, ctx: Ctx, row: dict, nav: str | None) -> Response:
    if nav:
        child, rows = resource.children(ctx, row, nav)
        return _list(child, ctx, rows, f"{resource.path}({row_key_text(resource, row)})/{nav}", nested=True)
    query = parse_query(ctx.request.args, resource.spec, ctx.state.filter_case_insensitive)
    return json_response({"d": resource.render(ctx, row, query.select, query.expand)})


def row_key_text(resource: Resource, row: dict) -> str:
    key = row[resource.spec.key]
    return f"guid'{key}'" if resource.spec.key_type == GUID else str(key)


def _post(resource: Resource, ctx: Ctx) -> Response:
    body = read_json(ctx)
    values, navs = parse_body(resource.spec, body, offset_mode=ctx.state.date_offset_mode, updating=False)
    row = resource.create(ctx, values, navs)
    _notify(ctx, resource, "Create", row[resource.spec.key])
    rendered = resource.render(ctx, row)
    if ctx.state.honour_prefer and "return=representation" not in ctx.request.headers.get("Prefer", ""):
        # Without the Prefer header Exact returns "all properties with the NULL value" [C S10, S18].
        keep = {"__metadata", resource.spec.key, *ALWAYS_RETURNED, *resource.spec.navigations}
        rendered = {name: (value if name in keep else None) for name, value in rendered.items()}
    return json_response({"d": rendered}, status=201)


def _notify(ctx: Ctx, resource: Resource, action: str, key) -> None:
    from .webhooks import notify  # webhooks builds on Resource; imported late to keep one import direction

    notify(ctx, resource.path, action, key)


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")
