"""REST endpoints for the data invoices refer to: VAT rates, accounts, custom fields, courses, catalog, orders."""

from __future__ import annotations

from sandbox.eduframe.api_invoices import live_rows
from sandbox.eduframe.http import ApiError, check_params, int_list_param, json_response, list_param, paginate
from sandbox.eduframe.records import get_record
from sandbox.eduframe.serializers import public

COURSE_SCOPES = ("courses:read",)
CATALOG_SCOPES = ("courses:read", "catalog:read")
VARIANTABLE_TYPES = {"planned_course": "PlannedCourse", "program_edition": "Program::Edition"}


def show(table: str, label: str):
    """Build a GET /<resource>/<id> handler."""

    def handler(state, request, record_id):
        with state.lock:
            return json_response(public(get_record(state.tables[table], record_id, label)))

    return handler


def plain_list(table: str):
    def handler(state, request):
        check_params(request, set(), state.strict_params)
        return paginate(request, live_rows(state, table), state.per_page_over_max)

    return handler


def text_match(record: dict, needle: str, fields: tuple[str, ...]) -> bool:
    needle = needle.lower()
    return any(needle in str(record.get(field) or "").lower() for field in fields)


def list_accounts(state, request):
    check_params(request, {"search", "account_type", "user_id", "key_contact_user_id"}, state.strict_params)
    search, types = request.args.get("search"), list_param(request, "account_type")
    users = int_list_param(request, "user_id")

    def keep(account):
        return (
            (not search or text_match(account, search, ("name", "email")))
            and (not types or account["account_type"] in types)
            and (not users or account["personal_user_id"] in users)
        )

    return paginate(request, live_rows(state, "accounts", keep), state.per_page_over_max)


def list_signup_questions(state, request):
    check_params(request, {"for_type", "for_account", "for_user", "visibility"}, state.strict_params)
    for_types = list_param(request, "for_type")
    if request.args.get("for_account") in ("true", "1"):
        for_types.append("account")

    def keep(question):
        return not for_types or question["for_type"] in for_types

    return paginate(request, live_rows(state, "signup_questions", keep), state.per_page_over_max)


def list_courses(state, request):
    """`search` (also `name`) matches name or code; not in the 2025 spec, plausible from the legacy filters."""
    check_params(request, {"search", "name", "category_id"}, state.strict_params)
    search = request.args.get("search") or request.args.get("name")

    def keep(course):
        return not search or text_match(course, search, ("name", "code"))

    return paginate(request, live_rows(state, "courses", keep), state.per_page_over_max)


def planned_course_filter(state, request, course_ids: list[int]):
    statuses = list_param(request, "status")
    since, until = request.args.get("start_date_from"), request.args.get("start_date_until")

    def keep(edition):
        start = edition["start_date"].isoformat()
        return (
            (not course_ids or edition["course_id"] in course_ids)
            and (not statuses or edition["status"] in statuses)
            and (not since or start >= since)
            and (not until or start <= until)
        )

    return keep


def sorted_editions(request, rows: list[dict]) -> list[dict]:
    """`sort=start_date[:desc]` is only honoured without paging cursors (the cursor walks ids)."""
    sort = request.args.get("sort")
    if sort in ("start_date", "start_date:desc") and "cursor" not in request.args:
        rows = sorted(rows, key=lambda row: (row["start_date"], row["id"]), reverse=sort.endswith(":desc"))
    return rows


def list_planned_courses(state, request, course_id=None):
    allowed = {"course_id", "status", "start_date_from", "start_date_until", "search"}
    check_params(request, allowed, state.strict_params)
    course_ids = [course_id] if course_id is not None else int_list_param(request, "course_id")
    if course_id is not None:
        with state.lock:
            get_record(state.tables["courses"], course_id, "Course")
    rows = live_rows(state, "planned_courses", planned_course_filter(state, request, course_ids))
    return paginate(request, sorted_editions(request, rows), state.per_page_over_max)


def list_products(state, request):
    check_params(request, {"search", "productable_type"}, state.strict_params)
    search, types = request.args.get("search"), list_param(request, "productable_type")

    def keep(product):
        return (not search or text_match(product, search, ("name",))) and (
            not types or product["productable_type"] in types
        )

    return paginate(request, live_rows(state, "catalog_products", keep), state.per_page_over_max)


def list_variants(state, request):
    allowed = {"product_id", "variantable_id", "variantable_type", "published_public"}
    check_params(request, allowed, state.strict_params)
    products, variantables = int_list_param(request, "product_id"), int_list_param(request, "variantable_id")
    kinds = list_param(request, "variantable_type")
    if any(kind not in VARIANTABLE_TYPES for kind in kinds):
        raise ApiError(400, "Invalid variantable_type", {"variantable_type": ["is not included in the list"]})
    wanted_types = [VARIANTABLE_TYPES[kind] for kind in kinds]

    def keep(variant):
        return (
            (not products or variant["product_id"] in products)
            and (not variantables or variant["variantable_id"] in variantables)
            and (not wanted_types or variant["variantable_type"] in wanted_types)
        )

    return paginate(request, live_rows(state, "catalog_variants", keep), state.per_page_over_max)


def list_orders(state, request):
    check_params(request, {"account_id", "created_at_after"}, state.strict_params)
    accounts, after = int_list_param(request, "account_id"), request.args.get("created_at_after")

    def keep(order):
        return (not accounts or order["account_id"] in accounts) and (
            not after or order["created_at"].date().isoformat() >= after
        )

    return paginate(request, live_rows(state, "orders", keep), state.per_page_over_max)


def current_educator(state, request):
    return json_response(dict(state.educator))


ROUTES = [
    ("GET", "/invoice_vats", plain_list("invoice_vats"), ("settings:read",)),
    ("GET", "/signup_questions", list_signup_questions, ("settings:read",)),
    ("GET", "/accounts", list_accounts, ("relations:read",)),
    ("GET", "/accounts/<int:record_id>", show("accounts", "Account"), ("relations:read",)),
    ("GET", "/courses", list_courses, COURSE_SCOPES),
    ("GET", "/courses/<int:record_id>", show("courses", "Course"), COURSE_SCOPES),
    ("GET", "/courses/<int:course_id>/planned_courses", list_planned_courses, COURSE_SCOPES),
    ("GET", "/planned_courses", list_planned_courses, COURSE_SCOPES),
    ("GET", "/planned_courses/<int:record_id>", show("planned_courses", "Planned course"), COURSE_SCOPES),
    ("GET", "/catalog/products", list_products, CATALOG_SCOPES),
    ("GET", "/catalog/products/<int:record_id>", show("catalog_products", "Product"), CATALOG_SCOPES),
    ("GET", "/catalog/variants", list_variants, CATALOG_SCOPES),
    ("GET", "/catalog/variants/<int:record_id>", show("catalog_variants", "Variant"), CATALOG_SCOPES),
    ("GET", "/orders", list_orders, ("orders:read",)),
    ("GET", "/orders/<int:record_id>", show("orders", "Order"), ("orders:read",)),
    ("GET", "/discount_codes", plain_list("discount_codes"), ("orders:read",)),
    ("GET", "/educators/current", current_educator, ()),
]
