"""The control API under `/_sandbox/` (JSON in, JSON out): seeding, faults, back-office operations,
clock, switches and inspection. Not part of Exact; never rate limited or logged."""

from __future__ import annotations

import json
from datetime import datetime

from werkzeug.wrappers import Request, Response

from .identity import User

# Switches `POST /_sandbox/config` may set, with their owner object ("state", "limits" or "tokens").
CONFIG_KEYS = {
    "auto_approve": "state", "business_error_status": "state", "honour_prefer": "state",
    "require_accept_json": "state", "foreign_division_status": "state", "date_offset_mode": "state",
    "honour_posted_type": "state", "duplicate_entry_number": "state", "pad_vat_codes": "state",
    "filter_case_insensitive": "state", "max_post_bytes": "state", "select_required": "state",
    "mandatory_filter_endpoints": "state", "unavailable_endpoints": "state", "unavailable_status": "state",
    "top_bare_array": "state", "premium": "state", "duplicate_webhook_topic": "state",
    "webhook_attempts": "state", "webhook_retry_seconds": "state", "default_country": "state", "contract_daily_limit": "fair_use",
    "enabled": "limits", "minutely_limit": "limits", "window_seconds": "limits", "daily_limit": "limits", "daily_reset_tz": "limits",
    "error_limit": "limits", "error_block_seconds": "limits", "error_block_status": "limits",
    "too_early_status": "tokens", "refresh_token_days": "tokens", "daily_cap": "tokens",
    "concurrent_refresh_refusal": "tokens",
}  # fmt: skip


def _user_json(user: User) -> dict:
    return {"user_id": user.user_id, "full_name": user.full_name, "email": user.email,
            "divisions": user.divisions, "current_division": user.current_division}  # fmt: skip


def _seed(state, body):
    names = ("journals", "gl_accounts", "cost_centers", "cost_units", "vat_codes", "licence", "country")
    options = {k: body[k] for k in names if k in body}
    division = state.seed_division(body["code"], body["name"], **options)
    return {"code": division.code, "name": division.name}


def _client(state, body):
    client = state.register_client(body["client_id"], body["client_secret"], body.get("redirect_uris", []))
    client.webhook_secret = body.get("webhook_secret") or client.webhook_secret
    return {"client_id": client.client_id, "redirect_uris": client.redirect_uris}


def _redirect_uri(state, body):
    state.register_redirect_uri(body["redirect_uri"], body.get("client_id", "eduexact-sandbox"))
    return {"redirect_uris": state.clients[body.get("client_id", "eduexact-sandbox")].redirect_uris}


def _user(state, body):
    return _user_json(state.add_user(**body))


def _tokens(state, body):
    user_id = body.get("user_id") or state.default_user().user_id
    return state.issue_tokens_for(user_id, body.get("client_id", "eduexact-sandbox"), body.get("country"))


def _fault(state, body):
    state.inject_fault(body["endpoint"], body["kind"], int(body.get("count", 1)))
    return {"faults": len(state.faults.faults)}


def _merge(state, body):
    state.merge_accounts(body["division"], body["survivor_id"], body["merged_id"])
    return {"merged": body["merged_id"]}


def _process(state, body):
    state.process_entry(body["division"], body["entry_id"])
    return {"processed": body["entry_id"]}


def _close_period(state, body):
    state.close_period(body["division"], body["year"], body["period"])
    return {"closed": [body["year"], body["period"]]}


def _clock(state, body):
    if "freeze" in body:
        state.clock.freeze(datetime.fromisoformat(body["freeze"]) if body["freeze"] else None)
    if "advance" in body:
        state.clock.advance(float(body["advance"]))
    return {"now": state.clock.now().isoformat()}


def _auto_approve(state, body):
    state.auto_approve = bool(body.get("enabled", True))
    return {"auto_approve": state.auto_approve}


def _budget(state, body):
    state.consume_budget(body["division"], int(body["calls"]), body.get("client_id", "eduexact-sandbox"),
                         bool(body.get("minutely", False)))  # fmt: skip
    return {"consumed": body["calls"]}


def _contract_budget(state, body):
    state.consume_contract_budget(body["division"], int(body["calls"]))
    return {"consumed": body["calls"]}


def _config(state, body):
    owners = {"state": state, "limits": state.limits, "tokens": state.tokens, "fair_use": state.fair_use}
    for key, value in body.items():
        if key not in CONFIG_KEYS:
            raise KeyError(f"unknown switch {key!r}")
        setattr(owners[CONFIG_KEYS[key]], key, value)
    return {key: getattr(owners[owner], key) for key, owner in CONFIG_KEYS.items()}


def _reset(state, body):
    state.reset()
    return {"reset": True}


ROUTES = {
    ("POST", "divisions"): _seed, ("POST", "clients"): _client, ("POST", "users"): _user,
    ("POST", "tokens"): _tokens, ("POST", "faults"): _fault, ("POST", "merge"): _merge,
    ("POST", "process"): _process, ("POST", "close-period"): _close_period, ("POST", "clock"): _clock,
    ("POST", "auto-approve"): _auto_approve, ("POST", "budget"): _budget, ("POST", "config"): _config,
    ("POST", "reset"): _reset, ("POST", "redirect-uri"): _redirect_uri,
    ("POST", "contract-budget"): _contract_budget,
    ("GET", "state"): lambda state, body: state.snapshot(),
    ("GET", "requests"): lambda state, body: {"requests": list(state.request_log), "counts": state.counts()},
    ("GET", "webhook-deliveries"): lambda state, body: {"deliveries": list(state.webhook_deliveries)},
    ("DELETE", "faults"): lambda state, body: state.faults.clear() or {"faults": 0},
}  # fmt: skip


def handle(state, request: Request) -> Response:
    route = ROUTES.get((request.method, request.path.removeprefix("/_sandbox/").strip("/")))
    if route is None:
        return _json({"error": f"no control route {request.method} {request.path}"}, 404)
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
        with state.lock:
            return _json(route(state, body), 201 if request.method == "POST" else 200)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)


def _json(payload, status: int) -> Response:
    return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")
