"""REST endpoints for invoices: list, show, pdf, payments, open, create."""

from __future__ import annotations

import base64

from sandbox.eduframe.http import (
    ApiError,
    check_params,
    int_list_param,
    json_body,
    json_response,
    list_param,
    paginate,
)
from sandbox.eduframe.invoices import STATUSES
from sandbox.eduframe.pdf import invoice_pdf
from sandbox.eduframe.serializers import public


def live_rows(state, table: str, keep=lambda row: True) -> list[dict]:
    """Serialized live records of a table, ordered by id, filtered by `keep` (called under the lock)."""
    with state.lock:
        rows = sorted(state.tables[table].values(), key=lambda row: row["id"])
        return [public(row) for row in rows if not row.get("_deleted") and keep(row)]


def list_invoices(state, request):
    check_params(request, {"account_id", "order_id", "status"}, state.strict_params)
    statuses = list_param(request, "status")
    unknown = [status for status in statuses if status not in STATUSES]
    if unknown:
        raise ApiError(400, "Invalid status", {"status": [f"{status} is not a valid status" for status in unknown]})
    accounts, orders = int_list_param(request, "account_id"), int_list_param(request, "order_id")

    def keep(invoice):
        return (
            (not statuses or invoice["status"] in statuses)
            and (not accounts or invoice["account_id"] in accounts)
            and (not orders or invoice["order_id"] in orders)
        )

    return paginate(request, live_rows(state, "invoices", keep), state.per_page_over_max)


def show_invoice(state, request, invoice_id):
    with state.lock:
        return json_response(public(state.get_invoice(invoice_id)))


def invoice_pdf_data(state, request, invoice_id):
    with state.lock:
        invoice = public(state.get_invoice(invoice_id))
        percentages = state.vat_percentages()
    pdf = invoice_pdf(invoice, state.educator["name"], percentages)
    return json_response({"data": base64.b64encode(pdf).decode("ascii")})


def invoice_payments(state, request, invoice_id):
    with state.lock:
        rows = [public(payment) for payment in state.invoice_payments(invoice_id)]
    return paginate(request, rows, state.per_page_over_max)


def open_invoice(state, request, invoice_id):
    with state.lock:
        return json_response(public(state.open_invoice(invoice_id)))


def create_invoice(state, request):
    """POST /invoices with account_id, feature, footnote and invoice_items_attributes[]."""
    body = json_body(request)
    if body.get("account_id") is None:
        raise ApiError(422, "Validation failed", {"account_id": ["can't be blank"]})
    items = [item for item in body.get("invoice_items_attributes") or [] if not item.get("_destroy")]
    with state.lock:
        invoice = state.add_invoice(
            body["account_id"], items, feature=body.get("feature"), footnote=body.get("footnote")
        )
        return json_response(public(invoice), status=201)


ROUTES = [
    ("GET", "/invoices", list_invoices, ("invoices:read",)),
    ("POST", "/invoices", create_invoice, ("invoices:modify",)),
    ("GET", "/invoices/<int:invoice_id>", show_invoice, ("invoices:read",)),
    ("GET", "/invoices/<int:invoice_id>/pdf", invoice_pdf_data, ("invoices:read",)),
    ("GET", "/invoices/<int:invoice_id>/payments", invoice_payments, ("payments:read",)),
    ("POST", "/invoices/<int:invoice_id>/open", open_invoice, ("invoices:modify",)),
]
