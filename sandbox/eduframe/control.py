"""The simulator-only control API under /_sandbox/: seed, act, travel in time, inject faults, inspect."""

from __future__ import annotations

import inspect
from datetime import date, datetime

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from sandbox.eduframe.errors import SimulatorError
from sandbox.eduframe.http import ApiError, error_response, json_body, json_response
from sandbox.eduframe.serializers import public

DATE_FIELDS = ("start_date", "end_date", "expiration_date")
OPTIONS = (
    "webhook_options",
    "webhook_max_attempts",
    "webhook_backoff",
    "webhook_timeout",
    "rate_limit",
    "rate_window",
    "discount_mode",
    "allow_delete_non_concept",
    "payment_term_days",
    "per_page_over_max",
    "strict_params",
    "auth_failure_status",
    "forbidden_status",
    "timeout_seconds",
    "auto_approve",
    "rotate_refresh_tokens",
)
SEEDERS = {
    "vats": "add_vat",
    "signup_questions": "add_signup_question",
    "accounts": "add_account",
    "courses": "add_course",
    "planned_courses": "add_planned_course",
    "catalog/products": "add_catalog_product",
    "catalog/variants": "add_catalog_variant",
    "discount_codes": "add_discount_code",
    "orders": "add_order",
    "invoices": "add_invoice",
}
INVOICE_ACTIONS = {
    "open": "open_invoice",
    "pay": "pay_invoice",
    "expire": "expire_invoice",
    "edit": "edit_invoice",
    "delete": "delete_invoice",
}


def call(method, *args, **body):
    """Call a state method with JSON keyword arguments; a wrong argument is a 400, not a crash."""
    kwargs = {key: date.fromisoformat(value) if key in DATE_FIELDS and value else value for key, value in body.items()}
    try:
        inspect.signature(method).bind(*args, **kwargs)
    except TypeError as exc:
        raise ApiError(400, f"Bad arguments: {exc}") from None
    return method(*args, **kwargs)


def seed(state, request, resource):
    if resource not in SEEDERS:
        return error_response(404, f"Unknown resource {resource}")
    record = call(getattr(state, SEEDERS[resource]), **json_body(request))
    return json_response(public(record), status=201)


def invoice_action(state, request, invoice_id, action):
    if action not in INVOICE_ACTIONS:
        return error_response(404, f"Unknown action {action}")
    invoice = call(getattr(state, INVOICE_ACTIONS[action]), invoice_id, **json_body(request))
    return json_response(public(invoice))


def update_account(state, request, account_id):
    return json_response(public(call(state.update_account, account_id, **json_body(request))))


def add_token(state, request):
    body = json_body(request)
    return json_response(public(call(state.add_token, **body)), status=201)


def faults(state, request):
    if request.method == "DELETE":
        state.clear_faults()
    elif request.method == "POST":
        body = json_body(request)
        body.setdefault("endpoint_pattern", body.pop("pattern", "*"))
        call(state.inject_fault, **body)
    return json_response(state.faults)


def clock(state, request):
    """{"advance": seconds} or {"set": iso datetime}; open invoices past their due date then expire."""
    body = json_body(request)
    if "set" in body:
        state.clock.set(datetime.fromisoformat(body["set"]))
    if "advance" in body:
        state.clock.advance(float(body["advance"]))
    expired = state.expire_overdue() if body else []
    return json_response({"now": state.clock.now().isoformat(timespec="milliseconds"), "expired": expired})


def auto_approve(state, request):
    state.auto_approve = bool(json_body(request).get("enabled", True))
    return json_response({"auto_approve": state.auto_approve})


def options(state, request):
    body = json_body(request)
    unknown = sorted(set(body) - set(OPTIONS))
    if unknown:
        raise ApiError(400, "Unknown option", {key: ["is not an option"] for key in unknown})
    with state.lock:
        for key, value in body.items():
            setattr(state, key, {**state.webhook_options, **value} if key == "webhook_options" else value)
        return json_response({key: getattr(state, key) for key in OPTIONS})


def snapshot(state, request):
    return json_response({**state.snapshot(), "counts": state.counts()})


def requests_log(state, request):
    with state.lock:
        return json_response(list(state.request_log))


def counts(state, request):
    return json_response(state.counts())


def reset(state, request):
    state.reset()
    return json_response(state.counts())


def demo(state, request):
    from sandbox.demo_data import load_eduframe_demo  # late: demo_data imports this package

    return json_response(load_eduframe_demo(state), status=201)


def wait(state, request):
    timeout = float(json_body(request).get("timeout", 10))
    return json_response({"idle": state.wait_for_deliveries(timeout)})


URL_MAP = Map(
    [
        Rule("/invoices/<int:invoice_id>/<action>", methods=["POST"], endpoint=invoice_action),
        Rule("/accounts/<int:account_id>", methods=["POST", "PATCH"], endpoint=update_account),
        Rule("/tokens", methods=["POST"], endpoint=add_token),
        Rule("/faults", methods=["GET", "POST", "DELETE"], endpoint=faults),
        Rule("/clock", methods=["GET", "POST"], endpoint=clock),
        Rule("/auto-approve", methods=["POST"], endpoint=auto_approve),
        Rule("/options", methods=["POST"], endpoint=options),
        Rule("/state", methods=["GET"], endpoint=snapshot),
        Rule("/requests", methods=["GET"], endpoint=requests_log),
        Rule("/counts", methods=["GET"], endpoint=counts),
        Rule("/reset", methods=["POST"], endpoint=reset),
        Rule("/demo", methods=["POST"], endpoint=demo),
        Rule("/wait", methods=["POST"], endpoint=wait),
        Rule("/<path:resource>", methods=["POST"], endpoint=seed),
    ],
    strict_slashes=False,
)


def handle(state, request):
    adapter = URL_MAP.bind("", path_info=request.path.removeprefix("/_sandbox") or "/")
    try:
        handler, kwargs = adapter.match(method=request.method)
        return handler(state, request, **kwargs)
    except NotFound:
        return error_response(404, "Unknown control endpoint")
    except MethodNotAllowed:
        return error_response(405, "Method not allowed")
    except SimulatorError as exc:
        return error_response(exc.status, exc.message, exc.errors)
    except ValueError as exc:
        return error_response(400, str(exc))
